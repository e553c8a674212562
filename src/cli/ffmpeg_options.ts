import type { Command } from "commander";
import { RTSP_TRANSPORTS } from "../sources/ffmpeg_args.ts";
import type { SourceOptions } from "../sources/source.ts";
import { envString, parseDuration, parseNumber } from "./env.ts";

export type FfmpegCliSettings = Pick<
  SourceOptions,
  "stallTimeoutMs" | "firstFrameTimeoutMs" | "rtspTransport" | "jpegQuality" | "maxRetries"
>;

function parseTransport(value: string): string {
  const v = value.toLowerCase();
  if (!RTSP_TRANSPORTS.includes(v)) {
    throw new Error(
      `--rtsp-transport expects one of ${RTSP_TRANSPORTS.join(", ")}, got "${value}"`,
    );
  }
  return v;
}

/** Flags of ffmpeg sources (rtsp://, video files…), shared by `serve` and `run`. */
export function addFfmpegOptions(cmd: Command, opts: { maxRetries?: boolean } = {}): Command {
  cmd
    .option(
      "--rtsp-transport <proto>",
      `RTSP transport of ffmpeg sources: ${
        RTSP_TRANSPORTS.join(", ")
      } (env DETECTOR_RTSP_TRANSPORT)`,
      parseTransport,
    )
    .option(
      "--stall-timeout <dur>",
      "an ffmpeg source that delivers no frame this long is restarted (env DETECTOR_STALL_TIMEOUT)",
      parseDuration("--stall-timeout"),
    )
    .option(
      "--first-frame-timeout <dur>",
      "an ffmpeg source with no first frame this long after start is restarted; long GOPs need " +
        "time for their first keyframe (default 30s, env DETECTOR_FIRST_FRAME_TIMEOUT)",
      parseDuration("--first-frame-timeout"),
    )
    .option(
      "--ffmpeg-quality <q>",
      "MJPEG quality ffmpeg encodes with, 2 (best) … 31 (default 5)",
      parseNumber("--ffmpeg-quality", 2, 31),
    );
  if (opts.maxRetries !== false) {
    cmd.option(
      "--max-retries <n>",
      "failed connects of a source before it gives up, -1 = forever",
      parseNumber("--max-retries", -1),
    );
  }
  return cmd;
}

/** Flag values (falling back to the environment) as source options. */
export function ffmpegCliSettings(o: Record<string, unknown>): FfmpegCliSettings {
  const envStall = envString("DETECTOR_STALL_TIMEOUT");
  const envTransport = envString("DETECTOR_RTSP_TRANSPORT");
  const envFirst = envString("DETECTOR_FIRST_FRAME_TIMEOUT");
  return {
    stallTimeoutMs: (o.stallTimeout as number | undefined) ??
      (envStall ? parseDuration("DETECTOR_STALL_TIMEOUT")(envStall) : undefined),
    firstFrameTimeoutMs: (o.firstFrameTimeout as number | undefined) ??
      (envFirst ? parseDuration("DETECTOR_FIRST_FRAME_TIMEOUT")(envFirst) : undefined),
    rtspTransport: (o.rtspTransport as string | undefined) ??
      (envTransport ? parseTransport(envTransport) : undefined),
    jpegQuality: o.ffmpegQuality as number | undefined,
    maxRetries: o.maxRetries as number | undefined,
  };
}
