import sharp from "sharp";

export interface ShrunkJpeg {
  jpeg: Uint8Array;
  width: number;
  height: number;
  quality: number;
}

const QUALITIES = [80, 65, 50, 35];
const SMALLEST_SIDE = 64;

/**
 * Re-encodes a JPEG until it is at most `maxBytes`: first lower quality at full size, then
 * 3/4 of the size per step. Decodes once; all work runs in libvips threads.
 */
export async function shrinkJpeg(jpeg: Uint8Array, maxBytes: number): Promise<ShrunkJpeg> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const raw = { width: info.width, height: info.height, channels: info.channels };
  let width = info.width;
  let height = info.height;
  let smallest = Infinity;
  while (Math.min(width, height) >= SMALLEST_SIDE) {
    for (const quality of width === info.width ? QUALITIES : QUALITIES.slice(1, 3)) {
      let img = sharp(data, { raw });
      if (width !== info.width) img = img.resize(width, height, { fit: "fill" });
      const out = await img.jpeg({ quality }).toBuffer();
      smallest = Math.min(smallest, out.byteLength);
      if (out.byteLength <= maxBytes) {
        return {
          jpeg: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
          width,
          height,
          quality,
        };
      }
    }
    width = Math.round(width * 0.75);
    height = Math.round(height * 0.75);
  }
  throw new Error(
    `cannot re-encode the frame below --max-bytes ${maxBytes} (smallest try ${smallest} bytes)`,
  );
}
