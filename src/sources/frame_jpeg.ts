/**
 * A frame as JPEG, whichever form its reader delivered. Raw frames (`Frame.rgb`, from `run`'s
 * ffmpeg readers) are encoded only when someone asks, once per frame however many ask: the
 * encoding lives exactly as long as the frame (a WeakMap keyed by it). Crops of raw frames are
 * cut from the pixels, without a decode.
 */
import sharp from "sharp";
import type { Frame } from "../core/mod.ts";
import type { PixelRegion } from "../core/mod.ts";
import { applyCrop, type CroppedJpeg, type CropRect, frameCropRegion } from "./crop.ts";

/** sharp quality of JPEGs encoded from raw frames (close to ffmpeg's `-q:v 5`). */
export const RAW_JPEG_QUALITY = 85;

const encoded = new WeakMap<Frame, Promise<Uint8Array>>();

/** Packed RGB24 pixels as JPEG (libvips threads, off the event loop). */
export async function encodeRgb(rgb: Uint8Array, width: number, height: number) {
  const buf = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: RAW_JPEG_QUALITY })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** The frame's JPEG: its own bytes, or its pixels encoded once. */
export function frameJpeg(frame: Frame): Promise<Uint8Array> {
  const rgb = frame.rgb;
  if (!rgb) return Promise.resolve(frame.jpeg);
  let jpeg = encoded.get(frame);
  if (!jpeg) {
    jpeg = encodeRgb(rgb, frame.width!, frame.height!);
    encoded.set(frame, jpeg);
    jpeg.catch(() => encoded.delete(frame));
  }
  return jpeg;
}

/** Copies a region out of packed RGB24 pixels `width` wide. */
export function cropRgb(rgb: Uint8Array, width: number, r: PixelRegion): Uint8Array {
  const out = new Uint8Array(r.width * r.height * 3);
  const rowBytes = r.width * 3;
  for (let y = 0; y < r.height; y++) {
    const from = ((r.top + y) * width + r.left) * 3;
    out.set(rgb.subarray(from, from + rowBytes), y * rowBytes);
  }
  return out;
}

/** The frame cropped to `rect` (pixels, x2/y2 exclusive, clamped) as JPEG. */
export async function cropFrameJpeg(frame: Frame, rect: CropRect): Promise<CroppedJpeg> {
  if (!frame.rgb) {
    return await applyCrop(frame.jpeg, rect, { width: frame.width, height: frame.height });
  }
  const width = frame.width!, height = frame.height!;
  const region = frameCropRegion(rect, { width, height, native: frame.native }).held;
  if (region.width === width && region.height === height) {
    return { jpeg: await frameJpeg(frame), width, height };
  }
  const jpeg = await encodeRgb(cropRgb(frame.rgb, width, region), region.width, region.height);
  return { jpeg, width: region.width, height: region.height };
}
