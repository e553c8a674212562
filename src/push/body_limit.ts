import type { BodyBudget } from "./body_budget.ts";

/** Thrown when a request body grows over its limit while it is being read. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number, readonly declared?: number) {
    super(
      declared !== undefined
        ? `body of ${declared} bytes is over the limit of ${limit} bytes`
        : `body is over the limit of ${limit} bytes`,
    );
  }
}

/**
 * Reads a request body, refusing it as soon as it passes `limit` bytes (by Content-Length up front,
 * or while streaming), so an endless body is never buffered.
 */
export async function readBodyLimited(
  req: Request,
  limit: number,
  address: string,
  budget: BodyBudget,
): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await req.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(limit, declared);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let taken = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) throw new BodyTooLargeError(limit);
      budget.take(address, value.byteLength);
      taken += value.byteLength;
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    // The budget covers bytes while they arrive; the caller owns the finished body.
    budget.give(address, taken);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
