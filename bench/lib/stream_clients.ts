/** HTTP clients for MJPEG and SSE streams, used by the serve tests and benchmarks. */
import {
  ChunkedDecoder,
  concatBytes,
  MultipartParser,
  parseResponseHead,
  type Part,
  type ResponseHead,
} from "./mjpeg_parser.ts";

/** Reads `count` parts of an MJPEG stream with fetch, then closes it. */
export async function readMjpegParts(
  url: string,
  count: number,
  timeoutMs = 20_000,
): Promise<Part[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) {
    throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  }
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("multipart/x-mixed-replace")) {
    await res.body?.cancel();
    throw new Error(`${url}: content-type ${type}`);
  }
  const parts: Part[] = [];
  const parser = new MultipartParser((p) => parts.push(p));
  const reader = res.body!.getReader();
  try {
    while (parts.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return parts.slice(0, count);
}

/** Counts the parts of an MJPEG stream that arrive within `windowMs`. */
export async function countMjpegParts(url: string, windowMs: number): Promise<number> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  let n = 0;
  const parser = new MultipartParser(() => n++, { keepBody: false });
  const reader = res.body!.getReader();
  const timer = setTimeout(() => reader.cancel().catch(() => {}), windowMs);
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
  } catch {
    // cancelled at the end of the window
  } finally {
    clearTimeout(timer);
  }
  return n;
}

export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/** Reads `count` server-sent events (comments and retry lines are skipped), then closes. */
export async function readSseEvents(
  url: string,
  count: number,
  timeoutMs = 20_000,
): Promise<SseEvent[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  const events: SseEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (events.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      let sep;
      while ((sep = text.indexOf("\n\n")) >= 0) {
        const block = text.slice(0, sep);
        text = text.slice(sep + 2);
        const ev: SseEvent = { event: "message", data: "" };
        let hasData = false;
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") ev.event = value;
          else if (field === "id") ev.id = value;
          else if (field === "data") {
            ev.data += (hasData ? "\n" : "") + value;
            hasData = true;
          }
        }
        if (hasData) events.push(ev);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return events.slice(0, count);
}

/**
 * A GET over a plain TCP connection, for clients that must control their socket: stop reading,
 * drop the connection mid-part, or follow many streams with little CPU.
 */
export class RawHttpStream {
  #buf: Uint8Array<ArrayBuffer>;
  head: ResponseHead | undefined;
  #decoder: ChunkedDecoder | undefined;

  private constructor(readonly conn: Deno.TcpConn, bufferBytes: number) {
    this.#buf = new Uint8Array(bufferBytes);
  }

  static async open(url: string, bufferBytes = 256 * 1024): Promise<RawHttpStream> {
    const u = new URL(url);
    const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port || 80) });
    const s = new RawHttpStream(conn, bufferBytes);
    const req = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nAccept: */*\r\n\r\n`;
    await conn.write(new TextEncoder().encode(req));
    return s;
  }

  /** Reads until the response head is complete; returns it with the body bytes seen so far. */
  async readHead(): Promise<ResponseHead> {
    let seen: Uint8Array = new Uint8Array(0);
    while (!this.head) {
      const n = await this.conn.read(this.#buf);
      if (n === null) throw new Error("connection closed before the response head");
      seen = concatBytes(seen, this.#buf.subarray(0, n));
      this.head = parseResponseHead(seen);
    }
    return this.head;
  }

  /**
   * Feeds the body (de-chunked when needed) to `onBytes` until the peer closes or `stop()`
   * returns true after a read. Resolves with how the stream ended.
   */
  async pump(
    onBytes: (bytes: Uint8Array) => void,
    stop: () => boolean = () => false,
  ): Promise<"closed" | "stopped"> {
    const head = this.head ?? await this.readHead();
    const chunked = (head.headers["transfer-encoding"] ?? "").includes("chunked");
    if (chunked) this.#decoder ??= new ChunkedDecoder(onBytes);
    const feed = (b: Uint8Array) => chunked ? this.#decoder!.push(b) : onBytes(b);
    if (head.rest.byteLength) {
      feed(head.rest);
      head.rest = new Uint8Array(0);
    }
    while (!stop()) {
      let n: number | null;
      try {
        n = await this.conn.read(this.#buf);
      } catch {
        return "closed";
      }
      if (n === null) return "closed";
      feed(this.#buf.subarray(0, n));
      if (this.#decoder?.ended) return "closed";
    }
    return "stopped";
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}
