import type { FrameCache } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";
import type { Source, SourceFactory, SourceOptions } from "./source.ts";
import { createTestPatternSource } from "./testpattern.ts";
import { createHttpSnapshotSource } from "./http_snapshot_source.ts";
import { createMjpegHttpSource } from "./mjpeg_http_source.ts";
import { createDirSource } from "./dir_source.ts";
import { createTcpMjpegSource } from "./tcp_mjpeg_source.ts";
import { createFfmpegSource } from "./ffmpeg_source.ts";
import { isVideoPath } from "./ffmpeg_args.ts";

interface Kind {
  name: string;
  /** Spec prefixes, lower case, matched case-insensitively. */
  prefixes: string[];
  factory: SourceFactory;
  example: string;
  /** Matches specs that have no fixed prefix (bare video file paths). */
  matches?: (spec: string) => boolean;
  /**
   * A remote party (the backend of `run`) may name sources of this kind: they read the network
   * or generate frames, never a local file or an arbitrary ffmpeg input.
   */
  remote?: boolean;
}

/** Every source kind the spec parser knows, in match order. */
export const sourceKinds: Kind[] = [
  {
    name: "testpattern",
    prefixes: ["testpattern:"],
    factory: createTestPatternSource,
    example: "testpattern:?fps=10&size=640x360",
    remote: true,
  },
  {
    name: "stream",
    prefixes: ["rtsp://", "rtsps://", "rtmp://", "rtmps://", "srt://", "udp://"],
    factory: createFfmpegSource,
    example:
      "rtsp://user:pass@cam/stream, rtmp://host/app/key, srt://host:9000, udp://0.0.0.0:1234",
    remote: true,
  },
  {
    name: "ffmpeg",
    prefixes: ["ffmpeg:", "file:"],
    factory: createFfmpegSource,
    example: "ffmpeg:http://cam/video.mp4, video.mp4#loop=1",
    matches: isVideoPath,
  },
  {
    name: "v4l2",
    prefixes: ["v4l2:"],
    factory: createFfmpegSource,
    example: "v4l2:/dev/video0#size=1280x720&fps=15&format=mjpeg",
  },
  {
    name: "dir",
    prefixes: ["dir:"],
    factory: createDirSource,
    example: "dir:/srv/frames",
  },
  {
    name: "tcp",
    prefixes: ["tcp://"],
    factory: createTcpMjpegSource,
    example: "tcp://127.0.0.1:9000",
    remote: true,
  },
  {
    name: "mjpeg-http",
    prefixes: ["mjpeg+http://", "mjpeg+https://"],
    factory: createMjpegHttpSource,
    example: "mjpeg+http://user:pass@cam/video.mjpg",
    remote: true,
  },
  {
    name: "http",
    prefixes: ["http://", "https://"],
    factory: createHttpSnapshotSource,
    example: "http://user:pass@cam/snapshot.jpg",
    remote: true,
  },
];

export class SourceSpecError extends Error {}

/**
 * URL schemes (`rtsp:`, `testpattern:`) of the kinds a remote party may name, in registry order:
 * what the worker accepts from its backend.
 */
export function remoteSchemes(): string[] {
  return sourceKinds.filter((k) => k.remote).flatMap((k) => k.prefixes)
    .map((p) => p.replace(/\/\/$/, ""));
}

export function sourceKindOf(spec: string): Kind | undefined {
  const lower = spec.toLowerCase();
  return sourceKinds.find((k) => k.prefixes.some((p) => lower.startsWith(p)) || k.matches?.(spec));
}

/**
 * `spec` with a frame-rate cap and/or output size added in its kind's own option syntax
 * (`testpattern:?fps=&size=`, ffmpeg `#fps=&scale=`, `v4l2:#fps=&size=`), for camera entries
 * that give them as separate keys. Other kinds deliver what the camera sends: an error.
 */
export function withFrameOptions(spec: string, o: { fps?: number; size?: string }): string {
  const pairs: string[] = [];
  const kind = sourceKindOf(spec)?.name;
  if (o.fps !== undefined) pairs.push(`fps=${o.fps}`);
  if (o.size !== undefined) {
    pairs.push(`${kind === "stream" || kind === "ffmpeg" ? "scale" : "size"}=${o.size}`);
  }
  if (pairs.length === 0) return spec;
  if (kind === "testpattern") return spec + (spec.includes("?") ? "&" : "?") + pairs.join("&");
  if (kind === "stream" || kind === "ffmpeg" || kind === "v4l2") {
    return spec + (spec.includes("#") ? "&" : "#") + pairs.join("&");
  }
  throw new SourceSpecError(
    `fps and size apply to testpattern, ffmpeg (rtsp, video files…) and v4l2 cameras, not ${
      kind ?? "this"
    } sources`,
  );
}

export function createSource(
  camera: string,
  spec: string,
  cache: FrameCache,
  opts: SourceOptions = {},
): Source {
  const kind = sourceKindOf(spec);
  if (!kind) {
    throw new SourceSpecError(
      `unknown source "${redactUrl(spec)}" for camera "${camera}"; known forms: ${
        sourceKinds.map((k) => k.example).join(", ")
      }`,
    );
  }
  return kind.factory(camera, spec, cache, opts);
}

/** Parses `NAME=SPEC` as given to `--source`. */
export function parseNamedSource(arg: string): { name: string; spec: string } {
  const eq = arg.indexOf("=");
  if (eq <= 0) {
    throw new SourceSpecError(`--source expects NAME=SPEC, got "${redactUrl(arg)}"`);
  }
  const name = arg.slice(0, eq);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new SourceSpecError(
      `camera name "${name}" must be 1-64 characters of letters, digits, "_", "." or "-"`,
    );
  }
  return { name, spec: arg.slice(eq + 1) };
}
