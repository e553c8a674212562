import { STATUS_CODES } from "node:http";
import { bytesOf } from "./bytes_response.ts";

/**
 * Writes a `Response` on a client connection as HTTP/1.1, for the requests the front door answers
 * itself. Frame streams (multipart and event streams) go out chunked as their parts come, pulled by
 * the socket like Deno.serve does; any other body is bounded and goes out with a Content-Length.
 */
const encoder = new TextEncoder();
const STREAMING = /^(multipart\/x-mixed-replace|text\/event-stream)/i;
/** Framing Deno.serve would compute itself; a handler's own value is dropped. */
const HOP_BY_HOP = new Set(["connection", "content-length", "transfer-encoding", "keep-alive"]);
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/** What the writer reports to the connection's bookkeeping. */
export interface WriteWatch {
  /** Set while a write waits for the client to take bytes (0 when none is pending). */
  writingSince: number;
  lastActivity: number;
}

let dateSecond = 0;
let dateValue = "";
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

export async function writeAll(
  conn: Deno.Conn,
  data: Uint8Array,
  watch?: WriteWatch,
): Promise<void> {
  let off = 0;
  if (watch) watch.writingSince = Date.now();
  try {
    while (off < data.length) off += await conn.write(data.subarray(off));
  } finally {
    if (watch) {
      watch.writingSince = 0;
      watch.lastActivity = Date.now();
    }
  }
}

/** Chunk framing of a part, built once per part: every client of a frame shares its bytes. */
const framed = new WeakMap<Uint8Array, Uint8Array>();

function chunkOf(part: Uint8Array): Uint8Array {
  let chunk = framed.get(part);
  if (!chunk) {
    const size = encoder.encode(`${part.byteLength.toString(16)}\r\n`);
    chunk = new Uint8Array(size.byteLength + part.byteLength + 2);
    chunk.set(size, 0);
    chunk.set(part, size.byteLength);
    chunk.set([13, 10], size.byteLength + part.byteLength);
    framed.set(part, chunk);
  }
  return chunk;
}

function headOf(res: Response, framing: string, keepAlive: boolean): Uint8Array {
  let head = `HTTP/1.1 ${res.status} ${res.statusText || STATUS_CODES[res.status] || "Status"}\r\n`;
  for (const [name, value] of res.headers) {
    if (!HOP_BY_HOP.has(name)) head += `${name}: ${value}\r\n`;
  }
  head += `date: ${httpDate()}\r\n${framing}`;
  if (!keepAlive) head += "connection: close\r\n";
  return encoder.encode(head + "\r\n");
}

/**
 * Writes `res` (only its head for a HEAD request). Resolves true when the connection can carry
 * another request; rejects when the client went away.
 */
export async function writeResponse(
  conn: Deno.Conn,
  res: Response,
  opts: {
    headOnly: boolean;
    keepAlive: boolean;
    /** HTTP/1.0 clients know no chunked coding: their streams end with the connection. */
    chunked: boolean;
    watch: WriteWatch;
  },
): Promise<boolean> {
  const noBody = opts.headOnly || res.status === 204 || res.status === 304 || res.status < 200;
  const streaming = res.body !== null && STREAMING.test(res.headers.get("content-type") ?? "");
  if (!streaming) {
    const body = bytesOf(res) ?? (res.body === null ? new Uint8Array(0) : await res.bytes());
    const framing = res.status === 204 || res.status === 304 || res.status < 200
      ? ""
      : `content-length: ${body.byteLength}\r\n`;
    await writeAll(conn, headOf(res, framing, opts.keepAlive), opts.watch);
    if (!noBody && body.byteLength > 0) await writeAll(conn, body, opts.watch);
    return opts.keepAlive;
  }
  if (noBody) {
    await res.body!.cancel().catch(() => {});
    await writeAll(conn, headOf(res, "", opts.keepAlive), opts.watch);
    return opts.keepAlive;
  }
  // A stream ends only when its source does or the client leaves: the connection ends with it.
  const framing = opts.chunked ? "transfer-encoding: chunked\r\n" : "";
  await writeAll(conn, headOf(res, framing, false), opts.watch);
  const reader = res.body!.getReader();
  const gone = watchForClose(conn, () => reader.cancel().catch(() => {}));
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      if (value.byteLength === 0) continue;
      await writeAll(conn, opts.chunked ? chunkOf(value) : value, opts.watch);
    }
    if (opts.chunked) await writeAll(conn, LAST_CHUNK, opts.watch);
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    gone.stop();
  }
  return false;
}

/**
 * Reads (and drops) what the client sends while a stream is written, so that its leaving is noticed
 * even when no frame comes to fail a write (a stopped camera).
 */
function watchForClose(conn: Deno.Conn, onClose: () => void): { stop(): void } {
  let stopped = false;
  const buf = new Uint8Array(1024);
  (async () => {
    try {
      while (!stopped && await conn.read(buf) !== null) {
        // bytes after a streamed request have nowhere to go
      }
    } catch {
      // reset by the client, or closed by us
    }
    if (!stopped) onClose();
  })();
  return {
    stop: () => {
      stopped = true;
    },
  };
}
