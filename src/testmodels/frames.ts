/** Test frames: solid background with filled rectangles, as raw RGB or JPEG. */
import sharp from "sharp";
import type { Rgb } from "./colours.ts";

export interface FrameRect {
  /** [x1, y1, x2, y2] in pixels, x2/y2 exclusive. */
  box: [number, number, number, number];
  rgb: Rgb;
}

export interface FrameSpec {
  width: number;
  height: number;
  /** Default black. */
  background?: Rgb;
  /** Drawn in order (later ones on top). */
  rects: FrameRect[];
}

/** Packed RGB pixels of the frame. */
export function colourFrameRgb(
  spec: FrameSpec,
): { rgb: Uint8Array; width: number; height: number } {
  const { width, height } = spec;
  const rgb = new Uint8Array(width * height * 3);
  const fill = (x1: number, y1: number, x2: number, y2: number, c: Rgb) => {
    for (let y = Math.max(0, y1); y < Math.min(height, y2); y++) {
      for (let x = Math.max(0, x1); x < Math.min(width, x2); x++) {
        const o = (y * width + x) * 3;
        rgb[o] = c[0];
        rgb[o + 1] = c[1];
        rgb[o + 2] = c[2];
      }
    }
  };
  const bg = spec.background ?? [0, 0, 0];
  if (bg[0] || bg[1] || bg[2]) fill(0, 0, width, height, bg);
  for (const r of spec.rects) fill(r.box[0], r.box[1], r.box[2], r.box[3], r.rgb);
  return { rgb, width, height };
}

/** The frame encoded as JPEG by sharp (quality 95, no chroma subsampling, by default). */
export async function colourFrameJpeg(spec: FrameSpec, quality = 95): Promise<Uint8Array> {
  const { rgb, width, height } = colourFrameRgb(spec);
  const buf = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: "4:4:4" }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/**
 * A car scene: a red car body with a green frontal region on its lower half, on black. With a
 * 640 detector, Car = [200, 160, 840, 560] and Frontal = [360, 400, 680, 540] exactly (raw RGB).
 */
export const CAR_SCENE: FrameSpec = {
  width: 1280,
  height: 720,
  rects: [
    { box: [200, 160, 840, 560], rgb: [255, 0, 0] },
    { box: [360, 400, 680, 540], rgb: [0, 255, 0] },
  ],
};

/** A JPEG of deterministic noise (seeded), for benchmarks that need realistic decode cost. */
export async function noisyFrameJpeg(width: number, height: number, seed = 1): Promise<Uint8Array> {
  const px = new Uint8Array(width * height * 3);
  let x = seed;
  for (let i = 0; i < px.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    px[i] = (x >> 16) & 0xff;
  }
  const buf = await sharp(px, { raw: { width, height, channels: 3 } }).blur(2).jpeg({ quality: 85 })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}
