/**
 * A response whose body is bytes already in memory. `new Response(bytes)` copies them, so the
 * response is made without a body and remembers the bytes: the front door writes them as they are,
 * and a response that goes out through the relayed HTTP server gets its body with `withBody`.
 */
const bodies = new WeakMap<Response, Uint8Array<ArrayBuffer>>();

export function bytesResponse(bytes: Uint8Array<ArrayBuffer>, init: ResponseInit): Response {
  const res = new Response(null, init);
  bodies.set(res, bytes);
  return res;
}

/** The bytes of a response made by `bytesResponse`. */
export function bytesOf(res: Response): Uint8Array | undefined {
  return bodies.get(res);
}

/** `res` as Deno.serve must get it: with its bytes as body. */
export function withBody(res: Response): Response {
  const bytes = bodies.get(res);
  if (!bytes) return res;
  return new Response(bytes, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}
