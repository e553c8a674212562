/**
 * Test videos generated with ffmpeg (lavfi `testsrc2`): the frame number and time are burnt in
 * as text, and the frame number also as a 16-bit bar code along the top (white block = 1, least
 * significant bit left), which `readFrameIndex` reads back from any JPEG of the stream.
 * Videos are cached in the temp folder by their parameters.
 */
import sharp from "sharp";

export interface TestVideoOptions {
  width?: number;
  height?: number;
  fps?: number;
  seconds?: number;
  /** Video codec: H.264 (libx264, no B-frames) or MJPEG. */
  codec?: "h264" | "mjpeg";
  /** Container extension. */
  container?: "mp4" | "mkv" | "avi" | "mov";
  /** Keyframe interval in frames (default: one per second). */
  gop?: number;
}

export const BAR_BITS = 16;
/** Height of the bar code strip in pixels, relative to the frame height. */
export function barHeight(height: number): number {
  return Math.max(8, Math.round(height / 24));
}

export function testVideoFilter(width: number, height: number, fps: number): string {
  const bh = barHeight(height);
  const bw = `(W/${BAR_BITS})`;
  const bit = `mod(floor(N/pow(2,floor(X/${bw}))),2)`;
  const fontSize = Math.max(12, Math.round(height / 12));
  return [
    `testsrc2=size=${width}x${height}:rate=${fps}[src]`,
    `[src]split[a][b]`,
    `[b]crop=iw:${bh}:0:0,format=gray,geq=lum='255*${bit}',format=yuv420p[bar]`,
    `[a][bar]overlay=0:0,drawtext=text='frame %{n} t=%{pts\\:hms}':fontsize=${fontSize}:` +
    `fontcolor=white:box=1:boxcolor=black@0.6:x=10:y=${bh + 10}`,
  ].join(";");
}

function cacheDir(): string {
  return `${Deno.env.get("TMPDIR") ?? "/tmp"}/detector-test-videos`;
}

/** Path of a generated test video (made once, then reused). */
export async function makeTestVideo(opts: TestVideoOptions = {}): Promise<string> {
  const width = opts.width ?? 320;
  const height = opts.height ?? 240;
  const fps = opts.fps ?? 10;
  const seconds = opts.seconds ?? 30;
  const codec = opts.codec ?? "h264";
  const container = opts.container ?? "mp4";
  const gop = opts.gop ?? Math.max(1, Math.round(fps));
  const dir = cacheDir();
  await Deno.mkdir(dir, { recursive: true });
  const path =
    `${dir}/testsrc2_${width}x${height}_${fps}fps_${seconds}s_${codec}_g${gop}.${container}`;
  try {
    if ((await Deno.stat(path)).size > 0) return path;
  } catch {
    // not made yet
  }
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.${container}`;
  const enc = codec === "h264"
    ? [
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-tune",
      "zerolatency",
      "-bf",
      "0",
      "-g",
      String(gop),
      "-pix_fmt",
      "yuv420p",
    ]
    : ["-c:v", "mjpeg", "-q:v", "4", "-pix_fmt", "yuvj420p"];
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-nostdin",
      "-y",
      "-f",
      "lavfi",
      "-i",
      testVideoFilter(width, height, fps),
      "-t",
      String(seconds),
      ...enc,
      tmp,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`ffmpeg could not make a test video: ${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.rename(tmp, path);
  return path;
}

/** Reads the burnt-in frame number of a JPEG made from a test video, or null if unreadable. */
export async function readFrameIndex(jpeg: Uint8Array): Promise<number | null> {
  const img = sharp(jpeg);
  const meta = await img.metadata();
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!width || !height) return null;
  const bh = barHeight(height);
  const { data } = await sharp(jpeg).extract({ left: 0, top: 0, width, height: bh }).greyscale()
    .raw().toBuffer({ resolveWithObject: true });
  const y = Math.floor(bh / 2);
  let n = 0;
  for (let bit = 0; bit < BAR_BITS; bit++) {
    const x = Math.floor((bit + 0.5) * width / BAR_BITS);
    const v = data[y * width + x];
    if (v > 170) n |= 1 << bit;
    else if (v > 85) return null;
  }
  return n;
}

/** Writes bytes that look like a video file but are not one. */
export async function makeCorruptVideo(path: string, kind: "garbage" | "truncated", from?: string) {
  if (kind === "garbage") {
    const bytes = new Uint8Array(64 * 1024);
    let s = 12345;
    for (let i = 0; i < bytes.length; i++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      bytes[i] = s >> 16;
    }
    await Deno.writeFile(path, bytes);
    return;
  }
  if (!from) throw new Error("truncated needs a source video");
  const whole = await Deno.readFile(from);
  await Deno.writeFile(path, whole.subarray(0, Math.floor(whole.length / 3)));
}
