/**
 * One frame's pixels for the pipeline: decoded from JPEG at most once (`decodeRgb`, off the
 * event loop), then cropped by detection boxes for branches (resized to `resizeTarget`) and for
 * `redis_save_image` (encoded as JPEG or PNG). Positions are in the camera's picture
 * (`FrameInput.native`) even when the pixels held are that picture scaled down.
 */
import sharp from "sharp";
import { type Box, type FrameSize, heldRect, scaleBox } from "../core/mod.ts";
import { decodeRgb, type ImageInput } from "../inference/mod.ts";
import type { FrameInput } from "./types.ts";

export type { Box } from "../core/mod.ts";
export { pixelRect } from "../core/mod.ts";

export interface RgbImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

export class FrameImage {
  #rgb: Promise<RgbImage> | undefined;
  readonly #native: FrameSize | undefined;

  constructor(readonly input: FrameInput | RgbImage & { jpeg?: undefined }) {
    this.#native = "native" in input ? input.native : undefined;
    if (input.rgb) {
      const expected = input.width * input.height * 3;
      if (input.rgb.byteLength !== expected) {
        throw new Error(
          `raw frame has ${input.rgb.byteLength} bytes, expected ${expected} for ${input.width}x${input.height} RGB`,
        );
      }
      this.#rgb = Promise.resolve({ rgb: input.rgb, width: input.width, height: input.height });
    } else if (!input.jpeg) {
      throw new Error("frame has neither JPEG bytes nor RGB pixels");
    }
  }

  /** Width of the picture positions refer to. */
  get width(): number {
    return this.#native?.width ?? this.input.width;
  }

  get height(): number {
    return this.#native?.height ?? this.input.height;
  }

  /** Boxes found in the pixels held, moved to picture positions. */
  toPicture<T extends { box: Box }>(found: T[]): T[] {
    const n = this.#native;
    if (!n) return found;
    const sx = n.width / this.input.width, sy = n.height / this.input.height;
    return found.map((d) => ({ ...d, box: scaleBox(d.box, sx, sy) }));
  }

  /** What a model is given for the whole frame: the JPEG as is, or the raw pixels. */
  modelInput(): ImageInput {
    const i = this.input;
    return i.rgb ? { rgb: i.rgb, width: i.width, height: i.height } : { jpeg: i.jpeg! };
  }

  /** Packed RGB of the whole frame (decoded once). */
  pixels(): Promise<RgbImage> {
    if (!this.#rgb) {
      this.#rgb = decodeRgb({ jpeg: this.input.jpeg! });
    }
    return this.#rgb;
  }

  #sharp(px: RgbImage) {
    return sharp(px.rgb, { raw: { width: px.width, height: px.height, channels: 3 } });
  }

  /** The box's pixels resized to `size` (stretched, as the original's cv2.resize); null if empty. */
  async crop(box: Box, size?: [number, number]): Promise<RgbImage | null> {
    const px = await this.pixels();
    const r = heldRect(box, px, this.#native);
    if (!r) return null;
    let img = this.#sharp(px).extract(r);
    if (size) img = img.resize(size[0], size[1], { fit: "fill" });
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    return {
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  }

  /** Encodes the box (or the whole frame) as JPEG or PNG. */
  async encode(
    box: Box | null,
    format: "jpeg" | "png",
    quality: number,
  ): Promise<{ bytes: Uint8Array; width: number; height: number }> {
    const px = await this.pixels();
    let img = this.#sharp(px);
    let width = px.width, height = px.height;
    if (box) {
      const r = heldRect(box, px, this.#native);
      if (r) {
        img = img.extract(r);
        width = r.width;
        height = r.height;
      }
    }
    const out = format === "png"
      ? await img.png().toBuffer()
      : await img.jpeg({ quality: Math.max(1, Math.min(100, Math.round(quality))) }).toBuffer();
    return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), width, height };
  }
}
