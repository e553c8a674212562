/**
 * Benchmark frames: a 1080p JPEG of camera-like content at a chosen size, and a time stamp carried
 * inside the JPEG (a COM segment right after SOI) so that a client in another process can tell how
 * long a frame took from the producer's write to its own read. The stamp keeps the JPEG valid.
 */
import sharp from "sharp";

/** Smooth colour gradients with a little noise, encoded at the quality that lands nearest `bytes`. */
export async function benchJpeg(
  width = 1920,
  height = 1080,
  bytes = 100_000,
): Promise<Uint8Array> {
  const px = new Uint8Array(width * height * 3);
  let s = 7;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      const n = (((s >> 16) & 0xff) - 128) / 32;
      const i = (y * width + x) * 3;
      px[i] = 128 + 100 * Math.sin(x / 97) + n;
      px[i + 1] = 128 + 100 * Math.cos(y / 61) + n;
      px[i + 2] = 128 + 90 * Math.sin((x + y) / 151) + n;
    }
  }
  const encode = async (quality: number) =>
    new Uint8Array(
      await sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer(),
    );
  let lo = 20, hi = 98;
  let best = await encode(75);
  while (lo <= hi) {
    const q = (lo + hi) >> 1;
    const jpeg = await encode(q);
    if (Math.abs(jpeg.byteLength - bytes) < Math.abs(best.byteLength - bytes)) best = jpeg;
    if (jpeg.byteLength < bytes) lo = q + 1;
    else hi = q - 1;
  }
  return best;
}

const STAMP_TAG = "detector-bench ";
const STAMP_LEN = 64;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A copy of `jpeg` with a COM segment holding frame number `n` and the time `at` (ms). */
export function stampJpeg(jpeg: Uint8Array, n: number, at = nowMs()): Uint8Array {
  const text = `${STAMP_TAG}n=${n} t=${at.toFixed(3)}`.padEnd(STAMP_LEN, " ");
  const out = new Uint8Array(jpeg.byteLength + 4 + STAMP_LEN);
  out[0] = 0xff;
  out[1] = 0xd8;
  out[2] = 0xff;
  out[3] = 0xfe;
  out[4] = (STAMP_LEN + 2) >> 8;
  out[5] = (STAMP_LEN + 2) & 0xff;
  out.set(encoder.encode(text), 6);
  out.set(jpeg.subarray(2), 6 + STAMP_LEN);
  return out;
}

/** Bytes of the JPEG start that `readStamp` needs. */
export const STAMP_BYTES = 6 + STAMP_LEN;

/** The stamp of a frame made by `stampJpeg`, or undefined. */
export function readStamp(head: Uint8Array): { n: number; at: number } | undefined {
  if (head.byteLength < STAMP_BYTES || head[2] !== 0xff || head[3] !== 0xfe) return undefined;
  const m = /^detector-bench n=(\d+) t=([\d.]+)/.exec(
    decoder.decode(head.subarray(6, STAMP_BYTES)),
  );
  return m ? { n: Number(m[1]), at: Number(m[2]) } : undefined;
}
