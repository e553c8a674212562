import type { FrameCache } from "../core/mod.ts";
import type { SourceStatus } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";

/** A producer of frames for one camera. It owns its reconnect loop and never throws out of it. */
export interface Source {
  readonly camera: string;
  start(): void;
  stop(): Promise<void>;
  status(): SourceStatus;
}

/** Settings shared by every source kind; each kind reads what applies to it. */
export interface SourceOptions {
  /** Snapshot polling period and upper bound for generated sources. */
  intervalMs?: number;
  /** Per-request/connect timeout. */
  timeoutMs?: number;
  maxFrameBytes?: number;
  /** Watched folder: delete files older than this (seconds); 0 disables. */
  maxFrameAgeS?: number;
  /** Frames per second for generated/test sources. */
  fps?: number;
  userAgent?: string;
  /** First reconnect delay in ms (grows exponentially from there); default 500. */
  reconnectMs?: number;
  /** Retries before giving up; -1 = forever. */
  maxRetries?: number;
  /** ffmpeg sources: no frame for this long kills and restarts ffmpeg (default 10 s). */
  stallTimeoutMs?: number;
  /** ffmpeg sources: no first frame this long after start kills ffmpeg (default 30 s). */
  firstFrameTimeoutMs?: number;
  /** ffmpeg sources: `-rtsp_transport` (tcp, udp, udp_multicast, http, https; default tcp). */
  rtspTransport?: string;
  /** ffmpeg sources: MJPEG quality `-q:v`, 2 (best) … 31 (default 5). */
  jpegQuality?: number;
  /**
   * ffmpeg sources: `rgb` delivers decoded frames as raw RGB24 (`Frame.rgb`, no JPEG encode; the
   * consumer encodes a JPEG when it needs one), `jpeg` (default) as MJPEG. MJPEG input passed
   * through stays JPEG; other kinds always deliver JPEG.
   */
  output?: "jpeg" | "rgb";
  /**
   * ffmpeg sources with `output: "rgb"`: frames larger than this on a side are scaled down in
   * ffmpeg to fit (aspect kept); each frame keeps the camera's size in `Frame.native`.
   */
  analysisSize?: number;
  /** Counts reconnects, rejected frames and source errors (nothing is counted without it). */
  metrics?: Metrics;
}

export type SourceFactory = (
  camera: string,
  spec: string,
  cache: FrameCache,
  opts: SourceOptions,
) => Source;
