import sharp from "sharp";

/** A real JPEG of a solid colour, encoded by libvips. */
export async function solidJpeg(
  width: number,
  height: number,
  rgb: [number, number, number] = [200, 40, 40],
  quality = 80,
): Promise<Uint8Array> {
  const buf = await sharp({
    create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } },
  }).jpeg({ quality }).toBuffer();
  return new Uint8Array(buf);
}

/** A JPEG with noisy content, so the entropy-coded data holds many FF00 stuffings. */
export async function noisyJpeg(width: number, height: number, seed = 1): Promise<Uint8Array> {
  const px = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    px[i] = s >> 16;
  }
  const buf = await sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 })
    .toBuffer();
  return new Uint8Array(buf);
}
