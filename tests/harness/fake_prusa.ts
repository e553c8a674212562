import { checkJpeg } from "../../src/core/jpeg.ts";

/**
 * A fake Prusa Connect camera API on a raw loopback TCP socket (raw so that it can hang or reset
 * the connection). It checks every request the way Connect would and records it.
 */

/** How to answer: an HTTP status, never answer ("hang"), or close with unread data ("reset" → RST). */
export type FakeAnswer = 200 | 204 | 400 | 401 | 403 | 404 | 500 | 502 | 503 | "hang" | "reset";

export interface RecordedRequest {
  method: string;
  path: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Uint8Array;
  /** What was wrong with the request; empty when Connect would accept it. */
  problems: string[];
  answer: FakeAnswer;
  at: number;
}

export interface FakePrusaOptions {
  /** The token Connect knows. */
  token: string;
  /** When set, only this fingerprint is accepted; otherwise the first one seen is bound. */
  fingerprint?: string;
}

export interface FakePrusa {
  url: string;
  requests: RecordedRequest[];
  /** Snapshots that were answered 2xx. */
  acceptedSnapshots(): RecordedRequest[];
  acceptedInfos(): RecordedRequest[];
  /** Answers used for the next requests, in order, before the default behaviour resumes. */
  queue(...answers: FakeAnswer[]): void;
  /** The answer for every request until changed (undefined = check and answer like Connect). */
  setMode(answer: FakeAnswer | undefined): void;
  close(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

class ConnReader {
  buf = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn, readonly chunk: number) {}

  async fill(): Promise<boolean> {
    const part = new Uint8Array(this.chunk);
    const n = await this.conn.read(part);
    if (n === null) return false;
    const next = new Uint8Array(this.buf.length + n);
    next.set(this.buf);
    next.set(part.subarray(0, n), this.buf.length);
    this.buf = next;
    return true;
  }

  take(n: number): Uint8Array {
    const out = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    return out;
  }

  indexOf(seq: string): number {
    const s = enc.encode(seq);
    outer: for (let i = 0; i + s.length <= this.buf.length; i++) {
      for (let j = 0; j < s.length; j++) if (this.buf[i + j] !== s[j]) continue outer;
      return i;
    }
    return -1;
  }
}

function check(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
  opts: FakePrusaOptions,
  bound: { fingerprint?: string },
): { problems: string[]; status: FakeAnswer } {
  const problems: string[] = [];
  if (method !== "PUT") problems.push(`method ${method}, expected PUT`);
  if (path !== "/c/snapshot" && path !== "/c/info") problems.push(`unknown path ${path}`);
  if (headers["token"] !== opts.token) {
    problems.push("wrong or missing Token header");
    return { problems, status: 401 };
  }
  const fp = headers["fingerprint"] ?? "";
  if (fp.length < 16 || fp.length > 64) problems.push(`fingerprint length ${fp.length}`);
  const expected = opts.fingerprint ?? bound.fingerprint;
  if (expected !== undefined && fp !== expected) {
    problems.push("fingerprint differs from the one bound to the token");
    return { problems, status: 403 };
  }
  if (path === "/c/snapshot") {
    if (headers["content-type"] !== "image/jpg") {
      problems.push(`content-type ${headers["content-type"]}, expected image/jpg`);
    }
    const c = checkJpeg(body);
    if (!c.ok) problems.push(`body is not a JPEG: ${c.reason}`);
  } else if (path === "/c/info") {
    if (headers["content-type"] !== "application/json") {
      problems.push(`content-type ${headers["content-type"]}, expected application/json`);
    }
    try {
      const info = JSON.parse(dec.decode(body));
      const r = info?.config?.resolution;
      if (typeof info?.config?.name !== "string") problems.push("config.name missing");
      if (!(r?.width > 0 && r?.height > 0)) problems.push("config.resolution missing");
    } catch {
      problems.push("info body is not JSON");
    }
  }
  if (problems.length) return { problems, status: 400 };
  bound.fingerprint ??= fp;
  return { problems, status: path === "/c/info" ? 200 : 204 };
}

const reasons: Record<number, string> = {
  200: "OK",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

export function startFakePrusa(opts: FakePrusaOptions): FakePrusa {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const requests: RecordedRequest[] = [];
  const conns = new Set<Deno.Conn>();
  const pending: FakeAnswer[] = [];
  let mode: FakeAnswer | undefined;
  const bound: { fingerprint?: string } = {};
  const handlers: Promise<void>[] = [];

  async function handle(conn: Deno.Conn) {
    conns.add(conn);
    // Small reads, so that a "reset" leaves body bytes unread in the kernel: close() then sends RST.
    const r = new ConnReader(conn, 256);
    try {
      while (true) {
        let end: number;
        while ((end = r.indexOf("\r\n\r\n")) < 0) if (!(await r.fill())) return;
        const head = dec.decode(r.take(end + 4)).split("\r\n");
        const [method, target] = head[0].split(" ");
        const headers: Record<string, string> = {};
        for (const line of head.slice(1)) {
          const colon = line.indexOf(":");
          if (colon > 0) {
            headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
          }
        }
        const answerNow = pending.length ? pending.shift()! : mode;
        if (answerNow === "reset") {
          requests.push({
            method,
            path: target,
            headers,
            body: new Uint8Array(0),
            problems: [],
            answer: "reset",
            at: Date.now(),
          });
          return;
        }
        let body: Uint8Array;
        if (headers["transfer-encoding"]?.includes("chunked")) {
          const parts: Uint8Array[] = [];
          while (true) {
            let eol: number;
            while ((eol = r.indexOf("\r\n")) < 0) if (!(await r.fill())) return;
            const size = parseInt(dec.decode(r.take(eol + 2)), 16);
            while (r.buf.length < size + 2) if (!(await r.fill())) return;
            parts.push(r.take(size));
            r.take(2);
            if (size === 0) break;
          }
          body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
          let at = 0;
          for (const p of parts) {
            body.set(p, at);
            at += p.length;
          }
        } else {
          const len = Number(headers["content-length"] ?? 0);
          while (r.buf.length < len) if (!(await r.fill())) return;
          body = r.take(len);
        }
        const verdict = check(method, target, headers, body, opts, bound);
        const answer = answerNow ?? verdict.status;
        requests.push({
          method,
          path: target,
          headers,
          body,
          problems: verdict.problems,
          answer,
          at: Date.now(),
        });
        if (answer === "hang") {
          await new Promise<void>((resolve) => hangs.add(resolve));
          return;
        }
        const status = answer as number;
        // A hostile touch: error answers echo the token, which the client must never log.
        const payload = status >= 400
          ? JSON.stringify({ message: reasons[status], token: headers["token"] ?? "" })
          : status === 200
          ? "{}"
          : "";
        const bytes = enc.encode(payload);
        const lines = [
          `HTTP/1.1 ${status} ${reasons[status] ?? "Status"}`,
          ...(status === 204 ? [] : [`content-length: ${bytes.length}`]),
          ...(payload ? ["content-type: application/json"] : []),
          "",
          "",
        ];
        await conn.write(enc.encode(lines.join("\r\n")));
        if (bytes.length) await conn.write(bytes);
      }
    } catch {
      // peer went away
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }

  const hangs = new Set<() => void>();
  const accepting = (async () => {
    try {
      for await (const conn of listener) handlers.push(handle(conn));
    } catch { /* listener closed */ }
  })();

  const accepted = (path: string) =>
    requests.filter((q) =>
      q.path === path && typeof q.answer === "number" && q.answer < 300 && q.problems.length === 0
    );

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    acceptedSnapshots: () => accepted("/c/snapshot"),
    acceptedInfos: () => accepted("/c/info"),
    queue: (...answers) => void pending.push(...answers),
    setMode: (answer) => void (mode = answer),
    async close() {
      listener.close();
      for (const h of hangs) h();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
      await Promise.allSettled(handlers);
    },
  };
}
