/**
 * Decodes a video file with ffmpeg straight to raw RGB frames (`-f rawvideo -pix_fmt rgb24`),
 * scaled by ffmpeg to the size the pipeline wants: no JPEG encode/decode round trip. Frames are
 * read from the pipe into exact-size buffers; `--every N` drops frames inside ffmpeg.
 */
import { errorMessage } from "../core/mod.ts";
import { redactText } from "../core/mod.ts";
import { ffmpegPath, ffprobePath, spawnTracked } from "../sources/mod.ts";

export interface VideoInfo {
  width: number;
  height: number;
  /** Frames per second (from r_frame_rate / avg_frame_rate). */
  fps: number;
  /** Frame count when the container knows it (else estimated from the duration). */
  frames: number | null;
  durationS: number | null;
}

export class VideoError extends Error {
  override name = "VideoError";
}

function rate(text: unknown): number | null {
  if (typeof text !== "string") return null;
  const [n, d] = text.split("/").map(Number);
  const v = d ? n / d : n;
  return Number.isFinite(v) && v > 0 ? v : null;
}

/** Reads size, frame rate and length of the first video stream with ffprobe. */
export async function probeVideo(path: string): Promise<VideoInfo> {
  try {
    await Deno.stat(path);
  } catch (err) {
    throw new VideoError(`cannot read video "${path}": ${errorMessage(err)}`);
  }
  const out = await new Deno.Command(ffprobePath(), {
    args: [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=width,height,r_frame_rate,avg_frame_rate,nb_frames,duration:format=duration",
      "-of",
      "json",
      path,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output().catch((err) => {
    throw new VideoError(`cannot run ffprobe: ${errorMessage(err)}`);
  });
  if (!out.success) {
    const msg = redactText(new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "");
    throw new VideoError(`"${path}" is not a readable video: ${msg}`);
  }
  const j = JSON.parse(new TextDecoder().decode(out.stdout));
  const s = j.streams?.[0];
  if (!s || !(s.width > 0) || !(s.height > 0)) {
    throw new VideoError(`"${path}" has no video stream`);
  }
  const fps = rate(s.avg_frame_rate) ?? rate(s.r_frame_rate) ?? 25;
  const durationS = Number(s.duration ?? j.format?.duration);
  const nb = Number(s.nb_frames);
  return {
    width: s.width,
    height: s.height,
    fps,
    frames: Number.isFinite(nb) && nb > 0
      ? nb
      : Number.isFinite(durationS)
      ? Math.round(durationS * fps)
      : null,
    durationS: Number.isFinite(durationS) ? durationS : null,
  };
}

/** The largest even size with the video's aspect that fits in `max` (never upscaled). */
export function fitSize(
  video: { width: number; height: number },
  max: { width: number; height: number },
): { width: number; height: number } {
  const scale = Math.min(1, max.width / video.width, max.height / video.height);
  const even = (v: number) => Math.max(2, Math.round(v * scale / 2) * 2);
  return { width: even(video.width), height: even(video.height) };
}

export interface RawFrame {
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Index of the frame in the video (before `every` dropped any). */
  index: number;
  /** Presentation time in ms from the start of the video. */
  ptsMs: number;
}

export interface ReadOptions {
  width: number;
  height: number;
  fps: number;
  /** Keep one frame in N (default 1). */
  every?: number;
  /** Read at the video's own frame rate (ffmpeg -re). */
  realtime?: boolean;
  signal?: AbortSignal;
}

/** Yields raw RGB frames; throws a VideoError with ffmpeg's message if decoding fails. */
export async function* readRawFrames(path: string, opts: ReadOptions): AsyncGenerator<RawFrame> {
  const every = Math.max(1, Math.floor(opts.every ?? 1));
  const filters = [
    ...(every > 1 ? [`select=not(mod(n\\,${every}))`] : []),
    `scale=${opts.width}:${opts.height}:flags=bilinear`,
  ];
  const child = spawnTracked(ffmpegPath(), [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    ...(opts.realtime ? ["-re"] : []),
    "-i",
    path,
    "-an",
    "-vf",
    filters.join(","),
    "-fps_mode",
    "passthrough",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "pipe:1",
  ]);
  let stderr = "";
  const stderrDone = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr = (stderr + dec.decode(chunk, { stream: true })).slice(-4000);
    }
  })();
  const onAbort = () => void child.stop();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const size = opts.width * opts.height * 3;
  let frame = new Uint8Array(size);
  let filled = 0;
  let n = 0;
  const reader = child.stdout.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      let off = 0;
      while (off < value.byteLength) {
        const take = Math.min(size - filled, value.byteLength - off);
        frame.set(value.subarray(off, off + take), filled);
        filled += take;
        off += take;
        if (filled === size) {
          const index = n * every;
          yield {
            rgb: frame,
            width: opts.width,
            height: opts.height,
            index,
            ptsMs: (index / opts.fps) * 1000,
          };
          n++;
          frame = new Uint8Array(size);
          filled = 0;
        }
      }
    }
    const status = await child.status;
    await stderrDone;
    if (!status.success && !opts.signal?.aborted) {
      throw new VideoError(
        `ffmpeg failed on "${path}" (exit ${status.code}): ${
          redactText(stderr.trim()) || "no message"
        }`,
      );
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
    await child.stop();
    await child.stdout.cancel().catch(() => {});
  }
}
