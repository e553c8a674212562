/**
 * Image → model input tensor, off the event loop: letterbox for detectors (aspect kept, grey 114
 * padding, as ultralytics does), plain resize for classifiers; then packed RGB → NCHW float32 /
 * 255. JPEGs are decoded by libturbojpeg at a reduced DCT scale and resampled straight into the
 * tensor when it is there and takes the image; otherwise sharp (libvips) decodes and resizes.
 */
import sharp, { type Sharp } from "sharp";
import { jpegHeaderSize } from "../core/mod.ts";
import { resampleToNchw } from "./resample.ts";
import { turboDecode } from "./turbojpeg.ts";
import type { ImageInput } from "./types.ts";

/** How frame pixels map into the letterboxed input: model = frame × scale + pad. */
export interface Letterbox {
  scaleX: number;
  scaleY: number;
  padX: number;
  padY: number;
  /** Size of the original image. */
  width: number;
  height: number;
}

export const PAD_VALUE = 114;

const LUT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

/** Packed RGB (HWC uint8) → planar float32 (CHW) / 255 (into `reuse` when its length fits). */
export function rgbToNchw(
  rgb: Uint8Array,
  width: number,
  height: number,
  reuse?: Float32Array,
): Float32Array {
  return letterboxToNchw(rgb, width, height, width, height, 0, 0, reuse);
}

export class ImageError extends Error {}

function source(image: ImageInput): Sharp {
  if ("jpeg" in image) return sharp(image.jpeg, { failOn: "error" });
  const { rgb, width, height } = image;
  if (!(width > 0 && height > 0) || rgb.length !== width * height * 3) {
    throw new ImageError(
      `raw RGB image of ${rgb.length} bytes does not match ${width}×${height}×3`,
    );
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } });
}

/** Width and height of an image (JPEG header read by sharp, no decode). */
export async function imageSize(image: ImageInput): Promise<{ width: number; height: number }> {
  if ("rgb" in image) return { width: image.width, height: image.height };
  const meta = await sharp(image.jpeg).metadata().catch((err: Error) => {
    throw new ImageError(`not a decodable image: ${err.message}`);
  });
  if (!meta.width || !meta.height) throw new ImageError("image has no size");
  return { width: meta.width, height: meta.height };
}

/** The letterbox geometry of ultralytics (`LetterBox`, centre, rounding ±0.1). */
export function letterboxGeometry(
  width: number,
  height: number,
  inW: number,
  inH: number,
): { w: number; h: number; left: number; top: number; right: number; bottom: number } {
  const r = Math.min(inW / width, inH / height);
  const w = Math.max(1, Math.round(width * r));
  const h = Math.max(1, Math.round(height * r));
  const dw = (inW - w) / 2;
  const dh = (inH - h) / 2;
  const top = Math.max(0, Math.round(dh - 0.1));
  const left = Math.max(0, Math.round(dw - 0.1));
  return { w, h, left, top, right: inW - w - left, bottom: inH - h - top };
}

/**
 * Letterboxes an image to `inW`×`inH`; returns the NCHW tensor and the mapping back. sharp only
 * decodes (shrinking JPEGs on load) and resizes; the grey border is written straight into the
 * tensor, so only the picture's pixels are converted.
 */
export async function letterbox(
  image: ImageInput,
  inW: number,
  inH: number,
  reuse?: Float32Array,
): Promise<{ tensor: Float32Array; box: Letterbox }> {
  const { width, height } = ("jpeg" in image ? jpegHeaderSize(image.jpeg) : undefined) ??
    await imageSize(image);
  const g = letterboxGeometry(width, height, inW, inH);
  const box = {
    scaleX: g.w / width,
    scaleY: g.h / height,
    padX: g.left,
    padY: g.top,
    width,
    height,
  };
  const fast = "jpeg" in image
    ? await turboTensor(image.jpeg, inW, inH, g.left, g.top, g.w, g.h, reuse)
    : undefined;
  if (fast) return { tensor: fast, box };
  let pipeline = source(image).removeAlpha().toColourspace("srgb");
  if (g.w !== width || g.h !== height) pipeline = pipeline.resize(g.w, g.h, { fit: "fill" });
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true }).catch(
    (err: Error) => {
      throw new ImageError(`cannot decode image: ${err.message}`);
    },
  );
  if (info.width !== g.w || info.height !== g.h || info.channels !== 3) {
    throw new ImageError(
      `pre-processing produced ${info.width}×${info.height}×${info.channels}, expected ${g.w}×${g.h}×3`,
    );
  }
  const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return { tensor: letterboxToNchw(rgb, g.w, g.h, inW, inH, g.left, g.top, reuse), box };
}

/**
 * The JPEG decoded by libturbojpeg and resampled to `w`×`h` at (`left`, `top`) of an `inW`×`inH`
 * tensor; undefined when libturbojpeg is absent or does not take it.
 */
async function turboTensor(
  jpeg: Uint8Array,
  inW: number,
  inH: number,
  left: number,
  top: number,
  w: number,
  h: number,
  reuse?: Float32Array,
): Promise<Float32Array | undefined> {
  const px = await turboDecode(jpeg, w, h, "rgbx");
  if (!px) return undefined;
  try {
    const tensor = padded(inW, inH, w, h, reuse);
    resampleToNchw(px.data, px.width, px.height, tensor, inW, inH, left, top, w, h);
    return tensor;
  } finally {
    px.release();
  }
}

/** A tensor of `inW`×`inH` (`reuse` when its length fits), grey where a `w`×`h` picture leaves room. */
function padded(inW: number, inH: number, w: number, h: number, reuse?: Float32Array) {
  const out = reuse?.length === 3 * inW * inH ? reuse : new Float32Array(3 * inW * inH);
  if (w !== inW || h !== inH) out.fill(LUT[PAD_VALUE]);
  return out;
}

/**
 * Packed RGB of `w`×`h` → planar float32 (CHW) / 255 of `inW`×`inH`, the picture at
 * (`left`, `top`), the rest PAD_VALUE grey; written into `reuse` when it has the right length.
 */
export function letterboxToNchw(
  rgb: Uint8Array,
  w: number,
  h: number,
  inW: number,
  inH: number,
  left: number,
  top: number,
  reuse?: Float32Array,
): Float32Array {
  const plane = inW * inH;
  const out = padded(inW, inH, w, h, reuse);
  const r = out.subarray(0, plane);
  const g = out.subarray(plane, 2 * plane);
  const b = out.subarray(2 * plane);
  const lut = LUT;
  for (let y = 0, p = 0; y < h; y++) {
    const end = (top + y) * inW + left + w;
    for (let i = end - w; i < end; i++, p += 3) {
      r[i] = lut[rgb[p]];
      g[i] = lut[rgb[p + 1]];
      b[i] = lut[rgb[p + 2]];
    }
  }
  return out;
}

/** Resizes (stretching) to `inW`×`inH` for a classifier; returns the NCHW tensor. */
export async function resizeForClassify(
  image: ImageInput,
  inW: number,
  inH: number,
  reuse?: Float32Array,
): Promise<Float32Array> {
  const fast = "jpeg" in image
    ? await turboTensor(image.jpeg, inW, inH, 0, 0, inW, inH, reuse)
    : undefined;
  if (fast) return fast;
  const { data, info } = await source(image).removeAlpha().toColourspace("srgb")
    .resize(inW, inH, { fit: "fill" }).raw().toBuffer({ resolveWithObject: true }).catch(
      (err: Error) => {
        throw new ImageError(`cannot decode image: ${err.message}`);
      },
    );
  if (info.channels !== 3) throw new ImageError(`image has ${info.channels} channels`);
  return rgbToNchw(new Uint8Array(data.buffer, data.byteOffset, data.length), inW, inH, reuse);
}

/** Decodes an image to packed RGB at full size (for crops and annotation). */
export async function decodeRgb(
  image: ImageInput,
): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  if ("rgb" in image) return image;
  const fast = await turboDecode(image.jpeg, Infinity, Infinity);
  if (fast) return { rgb: fast.data, width: fast.width, height: fast.height };
  const { data, info } = await source(image).removeAlpha().toColourspace("srgb").raw()
    .toBuffer({ resolveWithObject: true }).catch((err: Error) => {
      throw new ImageError(`cannot decode image: ${err.message}`);
    });
  return {
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}
