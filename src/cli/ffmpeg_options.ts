import type { Settings } from "../config/mod.ts";
import type { SourceOptions } from "../sources/source.ts";

/** Rows of ffmpeg sources (rtsp://, video files…), shared by `serve`, `run` and `probe`. */
export const ffmpegKeys = ["rtspTransport", "stallTimeout", "ffmpegQuality"] as const;

/** Resolved ffmpeg rows as source options. */
export function ffmpegSourceOptions(
  v: Pick<Settings, (typeof ffmpegKeys)[number]>,
): Pick<SourceOptions, "stallTimeoutMs" | "rtspTransport" | "jpegQuality"> {
  return {
    stallTimeoutMs: v.stallTimeout,
    rtspTransport: v.rtspTransport,
    jpegQuality: v.ffmpegQuality,
  };
}
