import type { Settings } from "../config/mod.ts";
import type { SourceOptions } from "../sources/mod.ts";

/** Rows of ffmpeg sources (rtsp://, video files…), shared by `serve`, `run` and `probe`. */
export const ffmpegKeys = [
  "rtspTransport",
  "stallTimeout",
  "firstFrameTimeout",
  "ffmpegQuality",
] as const;

/** Resolved ffmpeg rows as source options. */
export function ffmpegSourceOptions(
  v: Pick<Settings, (typeof ffmpegKeys)[number]>,
): Pick<SourceOptions, "stallTimeoutMs" | "firstFrameTimeoutMs" | "rtspTransport" | "jpegQuality"> {
  return {
    stallTimeoutMs: v.stallTimeout,
    firstFrameTimeoutMs: v.firstFrameTimeout,
    rtspTransport: v.rtspTransport,
    jpegQuality: v.ffmpegQuality,
  };
}
