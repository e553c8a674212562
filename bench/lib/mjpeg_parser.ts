/**
 * Incremental parsers for MJPEG clients: HTTP/1.1 chunked transfer decoding and
 * multipart/x-mixed-replace part splitting. They copy only what the caller asks to keep, so a
 * benchmark client can follow many 100 KB streams without spending the CPU the server needs.
 */

export interface Part {
  /** Part headers, names in lower case. */
  headers: Record<string, string>;
  /** Body length in bytes. */
  size: number;
  /** The whole body when `keepBody`, else the first `headBytes` bytes of it. */
  body: Uint8Array;
}

const CR = 13;
const LF = 10;
const decoder = new TextDecoder();

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b.slice();
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function indexOfCrlfCrlf(buf: Uint8Array, from = 0): number {
  for (let i = Math.max(0, from); i + 3 < buf.byteLength; i++) {
    if (buf[i] === CR && buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) return i;
  }
  return -1;
}

/** Splits a multipart body (boundary lines, part headers with Content-Length, body) into parts. */
export class MultipartParser {
  #head: Uint8Array = new Uint8Array(0);
  #remaining = -1;
  #headers: Record<string, string> = {};
  #size = 0;
  #body: Uint8Array = new Uint8Array(0);
  #filled = 0;
  readonly #keepBody: boolean;
  readonly #headBytes: number;

  constructor(
    private readonly onPart: (part: Part) => void,
    opts: { keepBody?: boolean; headBytes?: number } = {},
  ) {
    this.#keepBody = opts.keepBody ?? true;
    this.#headBytes = opts.headBytes ?? 64;
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.byteLength) {
      if (this.#remaining < 0) {
        off = this.#readHeaders(chunk, off);
        continue;
      }
      const take = Math.min(this.#remaining, chunk.byteLength - off);
      const room = this.#body.byteLength - this.#filled;
      if (room > 0) {
        const n = Math.min(room, take);
        this.#body.set(chunk.subarray(off, off + n), this.#filled);
        this.#filled += n;
      }
      off += take;
      this.#remaining -= take;
      if (this.#remaining === 0) {
        this.#remaining = -1;
        this.onPart({ headers: this.#headers, size: this.#size, body: this.#body });
      }
    }
  }

  /** Consumes part-header bytes from `off`; returns the offset after what was used. */
  #readHeaders(chunk: Uint8Array, off: number): number {
    if (this.#head.byteLength === 0) {
      const end = indexOfCrlfCrlf(chunk, off);
      if (end >= 0) {
        this.#startPart(decoder.decode(chunk.subarray(off, end)));
        return end + 4;
      }
      this.#head = chunk.slice(off);
      this.#checkHeadSize();
      return chunk.byteLength;
    }
    const piece = chunk.subarray(off, Math.min(chunk.byteLength, off + 16_384));
    const had = this.#head.byteLength;
    const joined = concat(this.#head, piece);
    const end = indexOfCrlfCrlf(joined, had - 3);
    if (end < 0) {
      this.#head = joined;
      this.#checkHeadSize();
      return off + piece.byteLength;
    }
    this.#head = new Uint8Array(0);
    this.#startPart(decoder.decode(joined.subarray(0, end)));
    return off + (end + 4 - had);
  }

  #checkHeadSize(): void {
    if (this.#head.byteLength > 16_384) throw new Error("part headers longer than 16 KiB");
  }

  #startPart(text: string): void {
    const headers: Record<string, string> = {};
    for (const line of text.split("\r\n")) {
      if (line === "" || line.startsWith("--")) continue;
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
    const size = Number(headers["content-length"]);
    if (!Number.isInteger(size) || size < 0) {
      throw new Error(`part without a valid Content-Length: ${JSON.stringify(text.slice(0, 200))}`);
    }
    this.#headers = headers;
    this.#size = size;
    this.#remaining = size;
    this.#body = new Uint8Array(this.#keepBody ? size : Math.min(size, this.#headBytes));
    this.#filled = 0;
    if (size === 0) {
      this.#remaining = -1;
      this.onPart({ headers, size, body: this.#body });
    }
  }
}

/** Decodes `Transfer-Encoding: chunked`, handing the payload bytes on without copying them. */
export class ChunkedDecoder {
  #state: "size" | "data" | "crlf" | "trailer" = "size";
  #sizeText = "";
  #left = 0;
  #crlfLeft = 0;
  ended = false;

  constructor(private readonly out: (bytes: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.byteLength && !this.ended) {
      switch (this.#state) {
        case "size": {
          const b = chunk[off++];
          if (b === LF) {
            const n = parseInt(this.#sizeText.split(";")[0].trim(), 16);
            if (!Number.isFinite(n)) throw new Error(`bad chunk size "${this.#sizeText}"`);
            this.#sizeText = "";
            if (n === 0) {
              this.#state = "trailer";
            } else {
              this.#left = n;
              this.#state = "data";
            }
          } else if (b !== CR) {
            this.#sizeText += String.fromCharCode(b);
          }
          break;
        }
        case "data": {
          const n = Math.min(this.#left, chunk.byteLength - off);
          this.out(chunk.subarray(off, off + n));
          off += n;
          this.#left -= n;
          if (this.#left === 0) {
            this.#state = "crlf";
            this.#crlfLeft = 2;
          }
          break;
        }
        case "crlf":
          off++;
          if (--this.#crlfLeft === 0) this.#state = "size";
          break;
        case "trailer":
          this.ended = true;
          break;
      }
    }
  }
}

export interface ResponseHead {
  status: number;
  headers: Record<string, string>;
  /** Bytes that followed the head in the same read. */
  rest: Uint8Array;
}

/** Parses an HTTP/1.1 response head from the bytes read so far, or undefined if incomplete. */
export function parseResponseHead(buf: Uint8Array): ResponseHead | undefined {
  const end = indexOfCrlfCrlf(buf);
  if (end < 0) return undefined;
  const lines = decoder.decode(buf.subarray(0, end)).split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { status: Number(m[1]), headers, rest: buf.subarray(end + 4) };
}

export { concat as concatBytes };
