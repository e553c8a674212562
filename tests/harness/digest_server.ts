/**
 * A real HTTP camera for tests (Deno.serve on a free loopback port): a JPEG snapshot or an MJPEG
 * multipart stream behind Digest (RFC 7616, MD5 or SHA-256, qop=auth) or Basic auth, plus the
 * failures real cameras show: 401, 500, an HTML page, no answer, a body that stops.
 * The Digest check here is written out on its own (not the client's code) so it can catch
 * client bugs; `curl --digest` is used to validate it.
 */
import { createHash } from "node:crypto";

export type AuthMode = "digest" | "basic" | "none";
export type Behaviour =
  | "ok"
  | "always401"
  | "500"
  | "html"
  | "hang"
  | "hangBody"
  | "multipart"
  /** Two multipart parts, then the connection stays open with no more bytes. */
  | "multipartStall";

export interface CameraServerOptions {
  auth?: AuthMode;
  algorithm?: "MD5" | "SHA-256";
  user?: string;
  password?: string;
  realm?: string;
  behaviour?: Behaviour;
  /** The frame to answer with; called per request (or per multipart part). */
  jpeg: () => Uint8Array | Promise<Uint8Array>;
  /** Parts per second of the multipart stream. */
  fps?: number;
}

export interface CameraServer {
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  port: number;
  /** Requests seen, and of those the ones whose credentials were accepted. */
  stats: { requests: number; authorized: number; rejected: number; userAgents: string[] };
  /** Authorization headers received (for checks that the password never travels in clear). */
  authorizations: string[];
  setBehaviour(b: Behaviour): void;
  close(): Promise<void>;
}

function h(algorithm: string, s: string): string {
  return createHash(algorithm === "SHA-256" ? "sha256" : "md5").update(s).digest("hex");
}

/** `key=value, key="quoted"` pairs of an Authorization header after its scheme. */
function authParams(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (const m of value.matchAll(re)) {
    out[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
  }
  return out;
}

export function startCameraServer(o: CameraServerOptions): CameraServer {
  const auth = o.auth ?? "none";
  const algorithm = o.algorithm ?? "MD5";
  const user = o.user ?? "admin";
  const password = o.password ?? "s3cret";
  const realm = o.realm ?? "test-camera";
  let behaviour: Behaviour = o.behaviour ?? "ok";
  const nonces = new Set<string>();
  const lastNc = new Map<string, number>();
  const stats = { requests: 0, authorized: 0, rejected: 0, userAgents: [] as string[] };
  const authorizations: string[] = [];
  const closing = new AbortController();

  const challenge = (): string => {
    if (auth === "basic") return `Basic realm="${realm}"`;
    const nonce = crypto.randomUUID().replaceAll("-", "");
    nonces.add(nonce);
    return `Digest realm="${realm}", qop="auth", algorithm=${algorithm}, nonce="${nonce}", ` +
      `opaque="opaque-${realm}"`;
  };

  const authorized = (req: Request): boolean => {
    const header = req.headers.get("authorization");
    if (auth === "none") return true;
    if (!header) return false;
    authorizations.push(header);
    if (auth === "basic") {
      if (!header.startsWith("Basic ")) return false;
      return atob(header.slice(6)) === `${user}:${password}`;
    }
    if (!header.startsWith("Digest ")) return false;
    const p = authParams(header.slice(7));
    if (p.username !== user || p.realm !== realm || !nonces.has(p.nonce)) return false;
    if ((p.algorithm ?? "MD5") !== algorithm || p.qop !== "auth" || !p.cnonce || !p.nc) {
      return false;
    }
    if (p.opaque !== `opaque-${realm}`) return false;
    const url = new URL(req.url);
    if (p.uri !== url.pathname + url.search) return false;
    const nc = parseInt(p.nc, 16);
    if (!(nc > (lastNc.get(p.nonce) ?? 0))) return false;
    const ha1 = h(algorithm, `${user}:${realm}:${password}`);
    const ha2 = h(algorithm, `${req.method}:${p.uri}`);
    const expected = h(algorithm, `${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
    if (p.response !== expected) return false;
    lastNc.set(p.nonce, nc);
    return true;
  };

  const never = () =>
    new Promise<Response>((resolve) =>
      closing.signal.addEventListener(
        "abort",
        () => resolve(new Response("closing", { status: 503 })),
        { once: true },
      )
    );

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req) => {
    stats.requests++;
    stats.userAgents.push(req.headers.get("user-agent") ?? "");
    if (behaviour === "hang") return await never();
    if (behaviour === "always401") {
      stats.rejected++;
      return new Response("no", { status: 401, headers: { "www-authenticate": challenge() } });
    }
    if (!authorized(req)) {
      stats.rejected++;
      return new Response("authorization required", {
        status: 401,
        headers: { "www-authenticate": challenge(), "content-type": "text/plain" },
      });
    }
    stats.authorized++;
    if (behaviour === "500") return new Response("camera broke", { status: 500 });
    if (behaviour === "html") {
      return new Response("<!doctype html><title>Login</title><p>Please log in</p>", {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    }
    if (behaviour === "hangBody") {
      const jpeg = await o.jpeg();
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(jpeg.subarray(0, jpeg.length >> 1));
          closing.signal.addEventListener("abort", () => {
            try {
              c.close();
            } catch { /* the client already went away */ }
          }, { once: true });
        },
      });
      return new Response(body, { headers: { "content-type": "image/jpeg" } });
    }
    if (behaviour === "multipart") return multipart(o, Infinity, req.signal, closing.signal);
    if (behaviour === "multipartStall") return multipart(o, 2, req.signal, closing.signal);
    return new Response(await o.jpeg() as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": "image/jpeg" },
    });
  });
  const port = server.addr.port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    stats,
    authorizations,
    setBehaviour: (b) => behaviour = b,
    async close() {
      closing.abort();
      await server.shutdown();
    },
  };
}

/** `multipart/x-mixed-replace` with one JPEG part per 1/fps second until the client leaves. */
function multipart(o: CameraServerOptions, parts: number, ...stops: AbortSignal[]): Response {
  const boundary = "frameboundary";
  const enc = new TextEncoder();
  const stop = AbortSignal.any(stops);
  const body = new ReadableStream<Uint8Array>({
    async start(c) {
      try {
        for (let n = 0; n < parts && !stop.aborted; n++) {
          const jpeg = await o.jpeg();
          c.enqueue(enc.encode(
            `--${boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
          ));
          c.enqueue(jpeg);
          c.enqueue(enc.encode("\r\n"));
          await new Promise((r) => setTimeout(r, 1000 / (o.fps ?? 10)));
        }
        if (!stop.aborted) {
          await new Promise((r) => stop.addEventListener("abort", r, { once: true }));
        }
        c.close();
      } catch {
        // client gone
      }
    },
  });
  return new Response(body, {
    headers: { "content-type": `multipart/x-mixed-replace; boundary=${boundary}` },
  });
}
