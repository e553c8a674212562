import { type JpegWalkState, newJpegWalkState, walkJpeg } from "./jpeg.ts";

/** Largest JPEG a source accepts unless told otherwise (`--max-frame-bytes`). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

export interface SplitterStats {
  frames: number;
  /** Bytes skipped while looking for a start-of-image marker. */
  garbageBytes: number;
  /** Frames dropped as malformed or larger than the limit. */
  dropped: number;
  lastDropReason?: string;
}

export interface SplitFrame {
  jpeg: Uint8Array;
  width: number;
  height: number;
}

/**
 * Splits a byte stream (raw MJPEG, multipart bodies, ffmpeg image2pipe) into complete JPEGs.
 * Bytes between frames (multipart headers, garbage) are skipped. The buffer is bounded by
 * `maxFrameBytes`: a frame that grows past it is dropped and the splitter resynchronises.
 * A partial frame is walked once: each chunk resumes the walk where the previous one stopped.
 */
export class JpegSplitter {
  #buf: Uint8Array;
  /** Unconsumed bytes are `#buf[#start, #end)`. */
  #start = 0;
  #end = 0;
  /** `#start` holds an SOI and `#walk` tracks how far that frame has been walked. */
  #inFrame = false;
  #walk: JpegWalkState = newJpegWalkState();
  readonly stats: SplitterStats = { frames: 0, garbageBytes: 0, dropped: 0 };

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#buf = new Uint8Array(Math.min(256 * 1024, maxFrameBytes + 2));
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** True while the start of a frame has been seen but not its end. */
  get midFrame(): boolean {
    return this.#inFrame;
  }

  push(chunk: Uint8Array): SplitFrame[] {
    const out: SplitFrame[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#end === this.#buf.length && !this.#makeRoom()) continue;
      const n = Math.min(this.#buf.length - this.#end, chunk.length - offset);
      this.#buf.set(chunk.subarray(offset, offset + n), this.#end);
      this.#end += n;
      offset += n;
      this.#extract(out);
    }
    return out;
  }

  /** Compacts or grows the full buffer; returns false when it had to drop an oversized frame. */
  #makeRoom(): boolean {
    const canGrow = this.#buf.length < this.maxFrameBytes + 2;
    if (this.#start > 0 && (!canGrow || this.#start * 2 >= this.#buf.length)) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
      return true;
    }
    if (canGrow) {
      const bigger = new Uint8Array(Math.min(this.#buf.length * 2, this.maxFrameBytes + 2));
      bigger.set(this.#buf.subarray(this.#start, this.#end));
      this.#end -= this.#start;
      this.#start = 0;
      this.#buf = bigger;
      return true;
    }
    this.#drop(`frame larger than ${this.maxFrameBytes} bytes`);
    this.#leaveFrame(1);
    this.#resync();
    return false;
  }

  #extract(out: SplitFrame[]): void {
    while (true) {
      if (!this.#inFrame && !this.#resync()) return;
      const r = walkJpeg(this.#buf, this.#start, this.#end, this.#walk);
      if (r === "incomplete") return;
      if (!r.ok) {
        this.#drop(r.reason);
        this.#leaveFrame(2);
        continue;
      }
      out.push({
        jpeg: this.#buf.slice(this.#start, this.#start + r.info.length),
        width: r.info.width,
        height: r.info.height,
      });
      this.stats.frames++;
      this.#leaveFrame(r.info.length);
    }
  }

  #leaveFrame(consumed: number): void {
    this.#inFrame = false;
    this.#start += consumed;
    if (this.#start >= this.#end) this.#start = this.#end = 0;
  }

  /** Skips bytes before the next FF D8 FF; true when a frame start is at `#start`. */
  #resync(): boolean {
    let i = this.#start;
    const data = this.#buf.subarray(0, this.#end);
    while (true) {
      i = data.indexOf(0xff, i);
      if (i < 0) {
        const keep = this.#end > this.#start && this.#buf[this.#end - 1] === 0xff ? 1 : 0;
        this.#skip(this.#end - keep);
        return false;
      }
      if (i + 2 >= this.#end) {
        this.#skip(i);
        return false;
      }
      if (this.#buf[i + 1] === 0xd8 && this.#buf[i + 2] === 0xff) break;
      i++;
    }
    this.#skip(i);
    this.#inFrame = true;
    this.#walk = newJpegWalkState();
    return true;
  }

  /** Counts bytes before `to` as garbage and moves past them. */
  #skip(to: number): void {
    this.stats.garbageBytes += to - this.#start;
    this.#start = to;
    if (this.#start >= this.#end) this.#start = this.#end = 0;
  }

  #drop(reason: string): void {
    this.stats.dropped++;
    this.stats.lastDropReason = reason;
  }

  reset(): void {
    this.#start = this.#end = 0;
    this.#inFrame = false;
  }
}
