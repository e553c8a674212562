/**
 * Splits ffmpeg's `-c:v ppm -f image2pipe` output (binary PPM, `P6`) into raw RGB24 frames. Each
 * frame carries its own size in its header, so a camera that changes resolution mid-stream is
 * split correctly. Pixels are copied once, from the pipe chunks straight into an exact-size buffer
 * per frame (no growing buffer, no second copy). Frames larger than `maxPixels` are refused: the
 * stream is unusable from there (`failed` is set) and the caller ends the run.
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
