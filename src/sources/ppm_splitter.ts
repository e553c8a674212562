/**
 * Splits ffmpeg's `-c:v ppm -f image2pipe` output (binary PPM, `P6`) into raw RGB24 frames. Each
 * frame carries its own size in its header, so a camera that changes resolution mid-stream is
 * split correctly. Each frame gets an exact-size buffer: `readPpmStream` reads the pipe straight
 * into it (a BYOB reader: no chunk allocated and copied per read), `push` copies chunks into it.
 * Frames larger than `maxPixels` are refused: the stream is unusable from there (`failed` is set)
 * and the caller ends the run.
 */

export interface RawFrame {
  /** Packed RGB, `width × height × 3` bytes. */
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** 8K UHD: the largest frame a raw reader accepts. */
export const DEFAULT_MAX_RAW_PIXELS = 7680 * 4320;
const MAX_HEADER_BYTES = 64;
const HEADER = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/;

export class PpmSplitter {
  #header = new Uint8Array(MAX_HEADER_BYTES);
  #headerLength = 0;
  #frame: RawFrame | undefined;
  #filled = 0;
  /** Why the stream cannot be split any further (bad header, oversized frame). */
  failed: string | undefined;
  frames = 0;

  constructor(readonly maxPixels = DEFAULT_MAX_RAW_PIXELS) {}

  /** True while part of a frame (header or pixels) is held. */
  get midFrame(): boolean {
    return this.#frame !== undefined || this.#headerLength > 0;
  }

  /** Where the next bytes belong: the rest of the current frame, or room for a header. */
  target(): Uint8Array {
    const f = this.#frame;
    if (!f) return new Uint8Array(MAX_HEADER_BYTES - this.#headerLength);
    return new Uint8Array(f.rgb.buffer, this.#filled, f.rgb.length - this.#filled);
  }

  /**
   * Takes the bytes a BYOB read put into `target()`'s view (its buffer moved to `filled.buffer`
   * by the read).
   */
  commit(filled: Uint8Array): RawFrame[] {
    const f = this.#frame;
    if (!f) return this.push(filled);
    f.rgb = new Uint8Array(filled.buffer);
    this.#filled += filled.length;
    if (this.#filled < f.rgb.length) return [];
    this.frames++;
    this.#frame = undefined;
    return [f];
  }

  push(chunk: Uint8Array): RawFrame[] {
    const out: RawFrame[] = [];
    let offset = 0;
    while (offset < chunk.length && !this.failed) {
      if (!this.#frame) {
        offset = this.#readHeader(chunk, offset);
        continue;
      }
      const frame = this.#frame;
      const n = Math.min(frame.rgb.length - this.#filled, chunk.length - offset);
      frame.rgb.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === frame.rgb.length) {
        out.push(frame);
        this.frames++;
        this.#frame = undefined;
      }
    }
    return out;
  }

  /** Takes header bytes up to the single whitespace after maxval; returns the new offset. */
  #readHeader(chunk: Uint8Array, offset: number): number {
    while (offset < chunk.length) {
      if (this.#headerLength === MAX_HEADER_BYTES) {
        this.failed = "PPM header too long";
        return chunk.length;
      }
      this.#header[this.#headerLength++] = chunk[offset++];
      const text = String.fromCharCode(...this.#header.subarray(0, this.#headerLength));
      if (!/^(P|P6|P6\s[\s\d]*)$/.test(text) && !HEADER.test(text)) {
        this.failed = `not a binary PPM frame (starts with ${JSON.stringify(text.slice(0, 16))})`;
        return chunk.length;
      }
      const m = HEADER.exec(text);
      if (!m) continue;
      const width = Number(m[1]), height = Number(m[2]);
      this.#headerLength = 0;
      if (m[3] !== "255") {
        this.failed = `PPM maxval ${m[3]} (only 8-bit RGB is read)`;
      } else if (width < 1 || height < 1 || width * height > this.maxPixels) {
        this.failed = `frame size ${width}x${height} outside 1…${this.maxPixels} pixels`;
      } else {
        this.#frame = { rgb: new Uint8Array(width * height * 3), width, height };
        this.#filled = 0;
      }
      return offset;
    }
    return offset;
  }
}

/**
 * Reads PPM frames from `stream` until it ends or the splitter fails, handing each batch of
 * complete frames to `onFrames`. Byte streams (a child's stdout) are read into the frame buffers
 * directly; other streams go through `push`.
 */
export async function readPpmStream(
  stream: ReadableStream<Uint8Array>,
  splitter: PpmSplitter,
  onFrames: (frames: RawFrame[]) => void,
): Promise<void> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    byob = undefined;
  }
  if (!byob) {
    for await (const chunk of stream) {
      const frames = splitter.push(chunk);
      if (splitter.failed) return;
      if (frames.length) onFrames(frames);
    }
    return;
  }
  try {
    while (true) {
      const { value, done } = await byob.read(splitter.target());
      if (done || !value) return;
      const frames = splitter.commit(value);
      if (splitter.failed) return;
      if (frames.length) onFrames(frames);
    }
  } finally {
    byob.releaseLock();
  }
}
