/**
 * ffmpeg source specs and the command lines built from them.
 *
 * Spec forms: `rtsp://…`, `rtsps://…`, `rtmp(s)://…`, `srt://…`, `udp://…`,
 * `ffmpeg:<anything ffmpeg opens>` (`ffmpeg:http://…/video`, `ffmpeg:udp://…`),
 * `file:/path/video.mp4`, a bare path ending in a video extension, or `v4l2:/dev/video0` (a local
 * camera; `#size=`, `#fps=` and `#format=` are asked of the device).
 * Per-source settings go in a trailing fragment, which is removed before ffmpeg sees the URL:
 * `#fps=5&scale=640x360&q=5&codec=auto&re=1&loop=0&transport=tcp`.
 */
import type { SourceOptions } from "./source.ts";

export const VIDEO_EXTENSIONS = [".mp4", ".mkv", ".avi", ".mov", ".webm", ".ts"];
export const RTSP_TRANSPORTS = ["tcp", "udp", "udp_multicast", "http", "https"];
export const DEFAULT_RTSP_TRANSPORT = "tcp";
/** MJPEG `-q:v` when neither `#q=` nor `--ffmpeg-quality` says otherwise. */
export const DEFAULT_JPEG_QUALITY = 5;

export type InputKind = "rtsp" | "http" | "file" | "v4l2" | "other";

export interface FfmpegSettings {
  /** What ffmpeg opens, credentials included. Never log it unredacted. */
  input: string;
  kind: InputKind;
  rtspTransport: string;
  /** MJPEG `-q:v`: 2 (best) … 31. */
  quality: number;
  /** Output frame-rate cap (`-vf fps=`). */
  fps?: number;
  /** Output size (`-vf scale=`); a missing side keeps the aspect ratio. */
  width?: number;
  height?: number;
  /** auto: copy MJPEG input, encode anything else; copy/mjpeg force one. */
  codec: "auto" | "copy" | "mjpeg";
  /**
   * What a decoded frame is written as: `jpeg` (MJPEG) or `rgb` (binary PPM: raw RGB24 with a
   * per-frame size header, no encode). MJPEG input passed through (`copy`) stays JPEG.
   */
  output: "jpeg" | "rgb";
  /**
   * Raw output only: frames larger than this many pixels on a side are scaled down in ffmpeg to
   * fit (aspect kept, never enlarged), unless the spec sets its own `scale`.
   */
  analysisSize?: number;
  /** Files: read at native speed (`-re`). */
  realtime: boolean;
  /** Files: start again at the end (`-stream_loop -1`). */
  loop: boolean;
  /** Socket I/O timeout handed to ffmpeg for network inputs. */
  ioTimeoutMs: number;
  /** v4l2: what the device is asked for (`-video_size`, `-framerate`, `-input_format`). */
  device?: { size?: string; fps?: number; format?: string };
}

export class FfmpegSpecError extends Error {
  override name = "FfmpegSpecError";
}

/** True for specs this source reads: rtsp(s), rtmp(s), srt, udp, ffmpeg:, file:, v4l2: and video paths. */
export function isFfmpegSpec(spec: string): boolean {
  return /^((rtsps?|rtmps?|srt|udp):\/\/|ffmpeg:|file:|v4l2:)/i.test(spec) || isVideoPath(spec);
}

export function isVideoPath(spec: string): boolean {
  if (/^[a-z][\w+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec)) return false;
  const path = splitFragment(spec).base.toLowerCase();
  return VIDEO_EXTENSIONS.some((ext) => path.endsWith(ext));
}

/** Splits off a trailing `#key=value&…` options fragment (a `#` elsewhere stays in the URL). */
export function splitFragment(spec: string): { base: string; options: URLSearchParams } {
  const m = /#([a-z_]+=[^&#]*(?:&[a-z_]+=[^&#]*)*)$/i.exec(spec);
  if (!m) return { base: spec, options: new URLSearchParams() };
  return { base: spec.slice(0, m.index), options: new URLSearchParams(m[1]) };
}

function inputOf(base: string): { input: string; kind: InputKind } {
  let input = base;
  if (/^v4l2:/i.test(input)) {
    input = input.slice("v4l2:".length);
    if (!input.startsWith("/")) {
      throw new FfmpegSpecError(`v4l2 source needs a device path like v4l2:/dev/video0`);
    }
    return { input, kind: "v4l2" };
  }
  if (/^ffmpeg:/i.test(input)) input = input.slice("ffmpeg:".length);
  if (/^file:/i.test(input)) {
    const rest = input.slice("file:".length);
    input = rest.startsWith("//") ? decodeURIComponent(rest.replace(/^\/\/[^/]*/, "")) : rest;
    return { input, kind: "file" };
  }
  if (input === "") throw new FfmpegSpecError("ffmpeg source has an empty input");
  if (/^rtsps?:\/\//i.test(input)) return { input, kind: "rtsp" };
  if (/^https?:\/\//i.test(input)) return { input, kind: "http" };
  if (/^[a-z][\w+.-]*:/i.test(input) && !/^[a-z]:[\\/]/i.test(input)) {
    return { input, kind: "other" };
  }
  return { input, kind: "file" };
}

function num(
  options: URLSearchParams,
  key: string,
  min: number,
  max: number,
): number | undefined {
  const raw = options.get(key);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new FfmpegSpecError(`source option ${key}=${raw}: expected a number ${min}…${max}`);
  }
  return n;
}

function flag(options: URLSearchParams, key: string): boolean | undefined {
  const raw = options.get(key);
  if (raw === null) return undefined;
  if (["1", "true", "yes", "on"].includes(raw.toLowerCase())) return true;
  if (["0", "false", "no", "off"].includes(raw.toLowerCase())) return false;
  throw new FfmpegSpecError(`source option ${key}=${raw}: expected 1 or 0`);
}

const knownKeys = new Set(["fps", "scale", "q", "codec", "re", "loop", "transport"]);
const deviceKeys = new Set(["size", "fps", "format", "scale", "q", "codec"]);
const V4L2_FORMATS = ["mjpeg", "yuyv422", "h264", "nv12", "yuv420p"];

export function parseFfmpegSpec(
  spec: string,
  opts: SourceOptions = {},
): FfmpegSettings {
  const { base, options } = splitFragment(spec.trim());
  const { input, kind } = inputOf(base);
  const keys = kind === "v4l2" ? deviceKeys : knownKeys;
  for (const key of options.keys()) {
    if (!keys.has(key)) {
      throw new FfmpegSpecError(
        `unknown source option "${key}" (known: ${[...keys].join(", ")})`,
      );
    }
  }
  if (kind === "v4l2") return deviceSettings(input, options, opts);
  const transport = (options.get("transport") ?? opts.rtspTransport ?? DEFAULT_RTSP_TRANSPORT)
    .toLowerCase();
  if (!RTSP_TRANSPORTS.includes(transport)) {
    throw new FfmpegSpecError(
      `rtsp transport "${transport}" is not one of ${RTSP_TRANSPORTS.join(", ")}`,
    );
  }
  const codec = (options.get("codec") ?? "auto").toLowerCase();
  if (codec !== "auto" && codec !== "copy" && codec !== "mjpeg") {
    throw new FfmpegSpecError(`source option codec=${codec}: expected auto, copy or mjpeg`);
  }
  let width: number | undefined;
  let height: number | undefined;
  const scale = options.get("scale");
  if (scale !== null) {
    const m = /^(\d*)x(\d*)$/.exec(scale) ?? /^(\d+)()$/.exec(scale);
    width = m?.[1] ? Number(m[1]) : undefined;
    height = m?.[2] ? Number(m[2]) : undefined;
    const bad = (v: number | undefined) => v !== undefined && (v < 16 || v > 8192);
    if (!m || (width === undefined && height === undefined) || bad(width) || bad(height)) {
      throw new FfmpegSpecError(
        `source option scale=${scale}: expected WIDTHxHEIGHT, WIDTH or xHEIGHT (16…8192)`,
      );
    }
  }
  const fps = num(options, "fps", 0.01, 240) ?? (opts.fps && opts.fps > 0 ? opts.fps : undefined);
  const settings: FfmpegSettings = {
    input,
    kind,
    rtspTransport: transport,
    quality: num(options, "q", 2, 31) ?? opts.jpegQuality ?? DEFAULT_JPEG_QUALITY,
    fps,
    width,
    height,
    codec: codec as FfmpegSettings["codec"],
    output: opts.output ?? "jpeg",
    ...(opts.output === "rgb" && scale === null && opts.analysisSize !== undefined
      ? { analysisSize: opts.analysisSize }
      : {}),
    realtime: flag(options, "re") ?? true,
    loop: flag(options, "loop") ?? false,
    ioTimeoutMs: opts.timeoutMs ?? 10_000,
  };
  if (settings.codec === "copy" && (fps !== undefined || scale !== null)) {
    throw new FfmpegSpecError(
      "codec=copy cannot be combined with fps or scale (they need a decode)",
    );
  }
  return settings;
}

/** `v4l2:/dev/videoN#size=WxH&fps=N&format=mjpeg`: the device's own MJPEG is passed through. */
function deviceSettings(
  input: string,
  options: URLSearchParams,
  opts: SourceOptions,
): FfmpegSettings {
  const size = options.get("size") ?? undefined;
  if (size !== undefined && !/^\d{2,5}x\d{2,5}$/.test(size)) {
    throw new FfmpegSpecError(`source option size=${size}: expected WIDTHxHEIGHT`);
  }
  const format = options.get("format")?.toLowerCase();
  if (format !== undefined && !V4L2_FORMATS.includes(format)) {
    throw new FfmpegSpecError(
      `source option format=${format}: expected one of ${V4L2_FORMATS.join(", ")}`,
    );
  }
  const codec = (options.get("codec") ?? "auto").toLowerCase();
  if (codec !== "auto" && codec !== "copy" && codec !== "mjpeg") {
    throw new FfmpegSpecError(`source option codec=${codec}: expected auto, copy or mjpeg`);
  }
  const rest = parseFfmpegSpec(
    `file:/dev/null${options.has("scale") ? `#scale=${options.get("scale")}` : ""}`,
    opts,
  );
  return {
    ...rest,
    input,
    kind: "v4l2",
    quality: num(options, "q", 2, 31) ?? opts.jpegQuality ?? 5,
    codec: codec as FfmpegSettings["codec"],
    fps: undefined,
    realtime: false,
    device: { size, fps: num(options, "fps", 0.01, 240), format },
  };
}

/**
 * Scales a frame down to fit `size`×`size`, never up. `area` averages the pixels each output
 * pixel covers: no aliasing, and cheaper than bilinear or bicubic for such reductions.
 */
function analysisScale(size: number): string {
  return `scale='min(iw,${size})':'min(ih,${size})':force_original_aspect_ratio=decrease:flags=area`;
}

/** The size `analysisScale` gives a `width`×`height` picture (ffmpeg may differ by a pixel). */
export function analysisFit(width: number, height: number, size: number) {
  const s = Math.min(1, size / width, size / height);
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/** Whether this run may pass MJPEG input through without re-encoding. */
export function canCopy(s: FfmpegSettings): boolean {
  return s.codec !== "mjpeg" && s.fps === undefined && s.width === undefined &&
    s.height === undefined;
}

/**
 * The ffmpeg command line (without the program name). `copy` passes MJPEG input through; otherwise
 * frames are encoded as MJPEG or, for `output: "rgb"`, written raw.
 */
export function ffmpegArgs(s: FfmpegSettings, copy = s.codec === "copy"): string[] {
  const args = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"];
  const us = String(Math.round(s.ioTimeoutMs * 1000));
  // Latency: frame-threaded decoding and encoding each hold one frame per thread, so both use
  // slice threads; a short analysis gets the first frame out sooner. No `-fflags nobuffer`: it
  // drops the packets read while probing, the first keyframe among them, so the first frame would
  // wait a whole GOP. The probed packets are decoded at once, so the latency afterwards is the same.
  args.push("-thread_type", "slice");
  if (s.kind === "rtsp" || s.kind === "http") args.push("-analyzeduration", "500000");
  if (s.kind === "rtsp") {
    args.push("-rtsp_transport", s.rtspTransport, "-timeout", us);
  } else if (s.kind === "http") {
    args.push("-rw_timeout", us);
  } else if (s.kind === "v4l2") {
    args.push("-f", "v4l2");
    if (s.device?.format) args.push("-input_format", s.device.format);
    if (s.device?.size) args.push("-video_size", s.device.size);
    if (s.device?.fps) args.push("-framerate", String(s.device.fps));
  } else if (s.kind === "file") {
    if (s.realtime) args.push("-re");
    if (s.loop) args.push("-stream_loop", "-1");
  }
  args.push("-i", s.input, "-map", "0:v:0", "-an", "-sn", "-dn");
  if (copy) {
    args.push("-c:v", "copy");
  } else {
    const filters: string[] = [];
    if (s.fps !== undefined) filters.push(`fps=${s.fps}`);
    if (s.width !== undefined || s.height !== undefined) {
      filters.push(`scale=${s.width ?? -2}:${s.height ?? -2}`);
    }
    if (s.output === "rgb") {
      if (s.analysisSize !== undefined) filters.push(analysisScale(s.analysisSize));
      filters.push("format=rgb24");
      args.push("-vf", filters.join(","), "-c:v", "ppm");
    } else {
      if (filters.length) args.push("-vf", filters.join(","));
      args.push("-c:v", "mjpeg", "-q:v", String(s.quality), "-thread_type", "slice");
    }
  }
  args.push("-f", "image2pipe", "pipe:1");
  return args;
}
