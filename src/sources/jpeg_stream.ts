import { JpegSplitter, type SplitFrame } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";

export interface JpegStreamOptions {
  camera: string;
  maxFrameBytes: number;
  /** No byte for this long ends the session with an error. */
  stallMs: number;
  /** This many bytes without a single frame ends the session: the peer does not speak MJPEG. */
  garbageLimit?: number;
  /**
   * "raw": every byte outside a JPEG is garbage (counted in detector_source_garbage_bytes_total).
   * "multipart": bytes between JPEGs are part headers and boundaries, expected, not counted.
   */
  framing?: "raw" | "multipart";
  frame(frame: SplitFrame): void;
  reject(reason: string): void;
  /** Counts garbage bytes. */
  metrics?: Metrics;
  /** Counters for the source status, called now and then and at the end. */
  progress(detail: Record<string, number>): void;
}

export class StreamStallError extends Error {}

const PROGRESS_EVERY_MS = 1000;

/**
 * Reads a byte stream of concatenated or multipart JPEGs until it ends, splitting frames out.
 * Resolves when the peer ends the stream between frames; throws when it stalls, sends only
 * garbage, or ends in the middle of a frame (that frame is lost, nothing else).
 */
export async function pumpJpegStream(
  stream: ReadableStream<Uint8Array>,
  o: JpegStreamOptions,
): Promise<void> {
  const splitter = new JpegSplitter(o.maxFrameBytes);
  const garbageLimit = o.garbageLimit ?? 1024 * 1024;
  const reader = stream.getReader();
  const stats = splitter.stats;
  let bytes = 0;
  let lastByteAt = performance.now();
  let stalled = false;
  let dropped = 0;
  let garbage = 0;
  let garbageAtFrame = 0;
  let reportedAt = 0;
  const multipart = o.framing === "multipart";
  const report = () => {
    reportedAt = performance.now();
    o.progress({
      bytes,
      frames: stats.frames,
      [multipart ? "betweenFrameBytes" : "garbageBytes"]: stats.garbageBytes,
      dropped: stats.dropped,
    });
  };
  const watchdog = setInterval(() => {
    if (performance.now() - lastByteAt < o.stallMs) return;
    stalled = true;
    reader.cancel().catch(() => {});
  }, Math.max(50, Math.min(1000, o.stallMs / 4)));
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (stalled) throw new StreamStallError(`no data for ${o.stallMs} ms`);
      if (done) break;
      lastByteAt = performance.now();
      bytes += value.length;
      const frames = splitter.push(value);
      for (const f of frames) o.frame(f);
      if (frames.length > 0) garbageAtFrame = stats.garbageBytes;
      if (!multipart && stats.garbageBytes > garbage) {
        o.metrics?.inc(
          "detector_source_garbage_bytes_total",
          "Bytes of stream sources that were not part of any JPEG",
          { camera: o.camera },
          stats.garbageBytes - garbage,
        );
        garbage = stats.garbageBytes;
      }
      while (dropped < stats.dropped) {
        dropped++;
        o.reject(stats.lastDropReason ?? "malformed frame");
      }
      if (stats.garbageBytes - garbageAtFrame > garbageLimit) {
        throw new Error(
          `${
            stats.garbageBytes - garbageAtFrame
          } bytes without a JPEG frame (not an MJPEG stream?)`,
        );
      }
      if (performance.now() - reportedAt >= PROGRESS_EVERY_MS) report();
    }
    if (stats.frames === 0 && stats.garbageBytes > 0 && !splitter.midFrame) {
      throw new Error(`peer closed the stream after ${bytes} bytes without a JPEG frame`);
    }
    if (splitter.midFrame) {
      o.reject("stream ended mid-frame");
      throw new Error(
        `peer closed the stream mid-frame (${splitter.pending} bytes of a frame lost)`,
      );
    }
  } finally {
    clearInterval(watchdog);
    report();
    reader.releaseLock();
  }
}
