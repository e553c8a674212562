import sharp from "sharp";
import { checkJpeg } from "../core/mod.ts";
import { errorMessage } from "../core/mod.ts";

export type Normalized =
  | { ok: true; jpeg: Uint8Array; width: number; height: number; converted: boolean }
  | { ok: false; reason: "not_image" | "bad_jpeg" | "bad_png" | "too_big"; message: string };

/** PNG conversions running at once; more wait for a slot so libvips threads are not swamped. */
const MAX_PARALLEL_CONVERSIONS = 2;
/** Decompression-bomb guard for PNG input. */
const MAX_INPUT_PIXELS = 50_000_000;

let running = 0;
const waiting: (() => void)[] = [];

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_PARALLEL_CONVERSIONS) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 &&
    b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a;
}

export function isJpegStart(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0xff && b[1] === 0xd8;
}

function firstBytes(b: Uint8Array): string {
  return [...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, "0")).join(" ") || "none";
}

/**
 * Turns uploaded bytes into a checked JPEG: JPEG passes through untouched (structure checked, not
 * decoded), PNG is converted once by sharp (libvips threads, off the event loop).
 */
export async function normalizeImage(bytes: Uint8Array, maxBytes: number): Promise<Normalized> {
  if (bytes.byteLength > maxBytes) {
    return {
      ok: false,
      reason: "too_big",
      message: `image is ${bytes.byteLength} bytes, over the limit of ${maxBytes}`,
    };
  }
  if (isJpegStart(bytes)) {
    const check = checkJpeg(bytes);
    if (!check.ok) return { ok: false, reason: "bad_jpeg", message: `bad JPEG: ${check.reason}` };
    return {
      ok: true,
      jpeg: bytes,
      width: check.info.width,
      height: check.info.height,
      converted: false,
    };
  }
  if (isPng(bytes)) {
    try {
      const { data, info } = await slot(() =>
        sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: "error" })
          .jpeg({ quality: 90 })
          .toBuffer({ resolveWithObject: true })
      );
      const jpeg = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (jpeg.byteLength > maxBytes) {
        return {
          ok: false,
          reason: "too_big",
          message:
            `PNG converted to a JPEG of ${jpeg.byteLength} bytes, over the limit of ${maxBytes}`,
        };
      }
      return { ok: true, jpeg, width: info.width, height: info.height, converted: true };
    } catch (err) {
      return {
        ok: false,
        reason: "bad_png",
        message: `PNG could not be decoded: ${errorMessage(err)}`,
      };
    }
  }
  return {
    ok: false,
    reason: "not_image",
    message: `data is neither JPEG nor PNG (first bytes: ${firstBytes(bytes)})`,
  };
}
