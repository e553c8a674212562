/**
 * The one place where a box becomes the pixel rectangle that is cut out of an image: every crop
 * (pipeline branches, `redis_save_image`, the worker's per-subscription crop) goes through it.
 */
import type { FrameSize } from "./frame.ts";

/** `[x1, y1, x2, y2]` in pixels of the image, x2/y2 exclusive; may be fractional or outside. */
export type Box = [number, number, number, number];

/** A rectangle of whole pixels inside an image, as sharp's `extract` takes it. */
export interface PixelRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The box on a copy of its image resized by `sx` across and `sy` down. */
export function scaleBox(box: Box, sx: number, sy: number): Box {
  return [box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy];
}

/**
 * The whole pixels a box covers (x1,y1 floored, x2,y2 ceiled), clamped to a width×height image;
 * null when nothing of the box is inside.
 */
export function pixelRect(box: Box, width: number, height: number): PixelRegion | null {
  const x1 = Math.max(0, Math.min(width, Math.floor(box[0])));
  const y1 = Math.max(0, Math.min(height, Math.floor(box[1])));
  const x2 = Math.max(0, Math.min(width, Math.ceil(box[2])));
  const y2 = Math.max(0, Math.min(height, Math.ceil(box[3])));
  if (x2 <= x1 || y2 <= y1) return null;
  return { left: x1, top: y1, width: x2 - x1, height: y2 - y1 };
}

/**
 * `pixelRect` for a box in the positions of `picture` when the pixels held are that picture
 * scaled to `held` (the picture itself when `picture` is undefined).
 */
export function heldRect(box: Box, held: FrameSize, picture?: FrameSize): PixelRegion | null {
  const scaled = picture
    ? scaleBox(box, held.width / picture.width, held.height / picture.height)
    : box;
  return pixelRect(scaled, held.width, held.height);
}
