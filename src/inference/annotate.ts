/** Draws detection boxes with labels on an image (SVG overlay composited by sharp) → JPEG. */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import type { Detection, ImageInput } from "./types.ts";

const PALETTE = ["#ffdc00", "#00e5ff", "#ff4dd2", "#ffffff", "#ff851b", "#2ecc40", "#0074d9"];

const escapeXml = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!,
  );

export interface Annotation extends Detection {
  /** Extra text after the class and confidence (branch results). */
  note?: string;
}

/** JPEG bytes of the image with one labelled rectangle per detection. */
export async function annotateJpeg(
  image: ImageInput,
  detections: Annotation[],
  quality = 90,
): Promise<Uint8Array> {
  const base = "jpeg" in image
    ? sharp(image.jpeg)
    : sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } });
  const meta = await base.metadata();
  const width = meta.width!;
  const height = meta.height!;
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 300));
  const font = Math.max(12, Math.round(Math.min(width, height) / 40));
  const shapes = detections.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const colour = PALETTE[d.classId % PALETTE.length];
    const label = escapeXml(
      `${d.class} ${d.confidence.toFixed(2)}${d.note ? ` ${d.note}` : ""}`,
    );
    const ty = y1 > font + 4 ? y1 - 4 : y1 + font + 2;
    return `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" ` +
      `stroke="${colour}" stroke-width="${stroke}"/>` +
      `<text x="${x1 + 2}" y="${ty}" font-family="DejaVu Sans, sans-serif" font-size="${font}" ` +
      `fill="${colour}" stroke="black" stroke-width="0.6">${label}</text>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    shapes.join("") + `</svg>`;
  const buf = await base.composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}
