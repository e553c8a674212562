/**
 * Annotated frames for `replay --annotate/--serve`: boxes and labels drawn as an SVG overlay by
 * sharp (libvips threads), encoded as JPEG, and written to a folder, an MP4 (ffmpeg reading
 * MJPEG from a pipe) or the frame cache of the live viewer.
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { errorMessage } from "../core/mod.ts";
import type { PipelineResult } from "../pipeline/mod.ts";
import { ffmpegPath } from "../sources/mod.ts";

const PALETTE = ["#00e676", "#ffea00", "#00b0ff", "#ff4081", "#ff9100", "#d500f9", "#76ff03"];

function colourOf(cls: string): string {
  let h = 0;
  for (const c of cls) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** The overlay: one box and label per detection, and a header line with branch results. */
export function overlaySvg(result: PipelineResult, width: number, height: number): string {
  const parts: string[] = [];
  const font = Math.max(11, Math.round(height / 40));
  for (const d of result.detections ?? []) {
    const [x1, y1, x2, y2] = d.box.map((v) => Math.round(v));
    const colour = colourOf(d.class);
    const label = escapeXml(
      `${d.class} ${d.confidence.toFixed(2)}${d.trackId !== undefined ? ` #${d.trackId}` : ""}`,
    );
    const ty = y1 > font + 4 ? y1 - 4 : y1 + font + 2;
    parts.push(
      `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${
        y2 - y1
      }" fill="none" stroke="${colour}" stroke-width="2"/>`,
      `<rect x="${x1}" y="${ty - font}" width="${
        Math.round(label.length * font * 0.6) + 6
      }" height="${font + 4}" fill="${colour}"/>`,
      `<text x="${
        x1 + 3
      }" y="${ty}" font-family="sans-serif" font-size="${font}" fill="#000">${label}</text>`,
    );
  }
  const header: string[] = [];
  for (const [id, b] of Object.entries(result.branchResults)) {
    const named = Object.entries(b.fields).map(([k, v]) => `${k}=${v}`).join(" ");
    header.push(`${id}: ${named || b.class || ""}`);
  }
  if (result.sessionId) header.unshift(`session ${result.sessionId.slice(0, 8)}`);
  if (header.length) {
    const text = escapeXml(header.join("  |  "));
    parts.push(
      `<rect x="0" y="0" width="${width}" height="${font + 8}" fill="#000" fill-opacity="0.6"/>`,
      `<text x="6" y="${
        font + 2
      }" font-family="sans-serif" font-size="${font}" fill="#fff">${text}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${
    parts.join("")
  }</svg>`;
}

/** The frame with its overlay, as JPEG. */
export async function annotateFrame(
  frame: { rgb: Uint8Array; width: number; height: number },
  result: PipelineResult,
  quality = 85,
): Promise<Uint8Array> {
  const svg = Buffer.from(overlaySvg(result, frame.width, frame.height));
  const buf = await sharp(frame.rgb, {
    raw: { width: frame.width, height: frame.height, channels: 3 },
  }).composite([{ input: svg }]).jpeg({ quality }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface AnnotationSink {
  write(jpeg: Uint8Array, index: number): Promise<void>;
  close(): Promise<void>;
}

/** `DIR/frame_000123.jpg` per frame (123 = index in the video). */
export async function dirSink(dir: string): Promise<AnnotationSink> {
  await Deno.mkdir(dir, { recursive: true });
  return {
    write: (jpeg, index) =>
      Deno.writeFile(`${dir}/frame_${String(index).padStart(6, "0")}.jpg`, jpeg),
    close: () => Promise.resolve(),
  };
}

/** An H.264 MP4 made by ffmpeg from the JPEGs piped to it, scaled to `size` (the video's). */
export function mp4Sink(
  path: string,
  fps: number,
  size?: { width: number; height: number },
): AnnotationSink {
  // libx264 with yuv420p needs even sides.
  const scale = size ? ["-vf", `scale=${size.width & ~1}:${size.height & ~1}`] : [];
  const proc = new Deno.Command(ffmpegPath(), {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "image2pipe",
      "-c:v",
      "mjpeg",
      "-framerate",
      String(fps),
      "-i",
      "pipe:0",
      ...scale,
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-pix_fmt",
      "yuv420p",
      path,
    ],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = proc.stdin.getWriter();
  const stderr = new Response(proc.stderr).text();
  let failed: string | null = null;
  return {
    async write(jpeg) {
      if (failed) return;
      try {
        await writer.write(jpeg);
      } catch (err) {
        failed = errorMessage(err);
      }
    },
    async close() {
      try {
        await writer.close();
      } catch { /* ffmpeg already gone */ }
      const status = await proc.status;
      const text = (await stderr).trim();
      if (!status.success || failed) {
        throw new Error(
          `ffmpeg could not write "${path}": ${text || failed || `exit ${status.code}`}`,
        );
      }
    },
  };
}

/**
 * MP4 when the path ends in .mp4/.mkv/.mov (at `videoSize`), a folder of JPEGs (at the analysis
 * size) otherwise.
 */
export function annotationSink(
  target: string,
  fps: number,
  videoSize?: { width: number; height: number },
): Promise<AnnotationSink> {
  return /\.(mp4|mkv|mov|m4v)$/i.test(target)
    ? Promise.resolve(mp4Sink(target, fps, videoSize))
    : dirSink(target);
}
