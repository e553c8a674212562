import { walkJpeg } from "./jpeg.ts";

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
 */
export class JpegSplitter {
  #buf: Uint8Array;
  #len = 0;
  readonly stats: SplitterStats = { frames: 0, garbageBytes: 0, dropped: 0 };

  constructor(readonly maxFrameBytes = 16 * 1024 * 1024) {
    this.#buf = new Uint8Array(Math.min(256 * 1024, maxFrameBytes + 2));
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.#len;
  }

  push(chunk: Uint8Array): SplitFrame[] {
    const out: SplitFrame[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      const room = this.#buf.length - this.#len;
      if (room === 0) {
        if (this.#buf.length < this.maxFrameBytes + 2) {
          const bigger = new Uint8Array(Math.min(this.#buf.length * 2, this.maxFrameBytes + 2));
          bigger.set(this.#buf.subarray(0, this.#len));
          this.#buf = bigger;
          continue;
        }
        this.#drop(`frame larger than ${this.maxFrameBytes} bytes`);
        this.#discard(1);
        this.#resync();
        continue;
      }
      const n = Math.min(room, chunk.length - offset);
      this.#buf.set(chunk.subarray(offset, offset + n), this.#len);
      this.#len += n;
      offset += n;
      this.#extract(out);
    }
    return out;
  }

  #extract(out: SplitFrame[]): void {
    while (true) {
      this.#resync();
      if (this.#len < 4) return;
      const r = walkJpeg(this.#buf, 0, this.#len);
      if (r === "incomplete") return;
      if (!r.ok) {
        this.#drop(r.reason);
        this.#discard(2);
        continue;
      }
      out.push({
        jpeg: this.#buf.slice(0, r.info.length),
        width: r.info.width,
        height: r.info.height,
      });
      this.stats.frames++;
      this.#discard(r.info.length);
    }
  }

  /** Drops bytes before the next FF D8 FF. */
  #resync(): void {
    let i = 0;
    while (true) {
      i = this.#buf.indexOf(0xff, i);
      if (i < 0 || i >= this.#len) {
        const keep = this.#len > 0 && this.#buf[this.#len - 1] === 0xff ? 1 : 0;
        this.stats.garbageBytes += this.#len - keep;
        this.#discard(this.#len - keep);
        return;
      }
      if (i + 2 >= this.#len) break;
      if (this.#buf[i + 1] === 0xd8 && this.#buf[i + 2] === 0xff) break;
      i++;
    }
    if (i > 0) {
      this.stats.garbageBytes += i;
      this.#discard(i);
    }
  }

  #discard(n: number): void {
    if (n <= 0) return;
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
  }

  #drop(reason: string): void {
    this.stats.dropped++;
    this.stats.lastDropReason = reason;
  }

  reset(): void {
    this.#len = 0;
  }
}
