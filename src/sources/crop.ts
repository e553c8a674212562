/**
 * Per-consumer crops (`cropX1..cropY2` of the worker protocol): applied to a copy of a shared
 * frame by each consumer, never inside the shared reader. Coordinates are pixels, x2/y2 exclusive
 * (the original worker's `frame[y1:y2, x1:x2]`), clamped to the image.
 */
import sharp from "sharp";
import { walkJpeg } from "../core/mod.ts";
import { type FrameSize, heldRect, pixelRect, type PixelRegion } from "../core/mod.ts";

export interface CropRect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface CroppedJpeg {
  jpeg: Uint8Array;
  width: number;
  height: number;
}

export class CropError extends Error {
  override name = "CropError";
}

/** Checks the four numbers (field names in the error) and clamps them to a width×height image. */
export function cropRegion(rect: CropRect, width: number, height: number): PixelRegion {
  for (const key of ["x1", "y1", "x2", "y2"] as const) {
    const v = rect[key];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new CropError(`crop${key.toUpperCase()} must be a number, got ${JSON.stringify(v)}`);
    }
  }
  const region = pixelRect([rect.x1, rect.y1, rect.x2, rect.y2], width, height);
  if (!region) {
    throw new CropError(
      `crop (${rect.x1},${rect.y1})-(${rect.x2},${rect.y2}) is empty inside a ${width}x${height} frame`,
    );
  }
  return region;
}

/**
 * The crop of a frame whose pixels may be its camera's picture scaled down (`Frame.native`): the
 * region in the camera's pixels, and the pixels held that it covers.
 */
export function frameCropRegion(
  rect: CropRect,
  frame: FrameSize & { native?: FrameSize },
): { held: PixelRegion; picture: PixelRegion } {
  const size = frame.native ?? frame;
  const picture = cropRegion(rect, size.width, size.height);
  const { left, top, width, height } = picture;
  // a region inside the picture covers at least one pixel of any copy of it
  const held = heldRect([left, top, left + width, top + height], frame, frame.native)!;
  return { held, picture };
}

/** True when the protocol object carries a crop (all four fields present). */
export function hasCrop(
  o: { cropX1?: unknown; cropY1?: unknown; cropX2?: unknown; cropY2?: unknown },
): boolean {
  return o.cropX1 != null && o.cropY1 != null && o.cropX2 != null && o.cropY2 != null;
}

/**
 * Crops a JPEG with sharp (libvips threads, off the event loop). `size` skips re-reading the
 * header when the caller knows it (Frame.width/height). A crop covering the whole frame returns
 * the original bytes untouched.
 */
export async function applyCrop(
  jpeg: Uint8Array,
  rect: CropRect,
  opts: { width?: number; height?: number; quality?: number } = {},
): Promise<CroppedJpeg> {
  let { width, height } = opts;
  if (!width || !height) {
    const info = walkJpeg(jpeg);
    if (info === "incomplete" || !info.ok) {
      throw new CropError(
        `cannot crop: frame is not a complete JPEG (${
          info === "incomplete" ? "truncated" : info.reason
        })`,
      );
    }
    width = info.info.width;
    height = info.info.height;
  }
  const region = cropRegion(rect, width, height);
  if (region.left === 0 && region.top === 0 && region.width === width && region.height === height) {
    return { jpeg, width, height };
  }
  const buf = await sharp(jpeg).extract(region).jpeg({ quality: opts.quality ?? 85 }).toBuffer();
  return {
    jpeg: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
    width: region.width,
    height: region.height,
  };
}
