import type { Frame } from "../core/mod.ts";
import type { FrameCache } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { cameraNameProblem } from "../core/mod.ts";

export type PushVia = "ws" | "http" | "mqtt";

export interface CameraRefusal {
  reason: "bad_camera" | "pulled_camera" | "too_many_cameras";
  message: string;
}

export interface PushSinkOptions {
  /** Largest JPEG accepted from any push path. */
  maxFrameBytes: number;
  /** Cameras fed by a pull source (`--source`): pushes to them are refused. */
  pulled: (camera: string) => boolean;
  /** Counts accepted and refused pushes of every path. */
  metrics: Metrics;
  /** Most cameras that pushes may create; frames for a new name beyond it are refused. */
  maxCameras?: number;
}

export const DEFAULT_MAX_CAMERAS = 256;

/**
 * Where every push path (WebSocket, HTTP upload, MQTT) delivers checked JPEGs. A camera appears in
 * the cache with state "push" on its first frame.
 */
export class PushSink {
  readonly maxFrameBytes: number;
  #cache: FrameCache;
  #pulled: (camera: string) => boolean;
  #lastVia = new Map<string, PushVia>();
  readonly #metrics: Metrics;
  readonly maxCameras: number;

  constructor(cache: FrameCache, opts: PushSinkOptions) {
    this.#cache = cache;
    this.maxFrameBytes = opts.maxFrameBytes;
    this.#pulled = opts.pulled;
    this.#metrics = opts.metrics;
    this.maxCameras = opts.maxCameras ?? DEFAULT_MAX_CAMERAS;
  }

  /** Why frames for this camera name cannot be accepted, or undefined if they can. */
  refusal(camera: string): CameraRefusal | undefined {
    const problem = cameraNameProblem(camera);
    if (problem) return { reason: "bad_camera", message: problem };
    if (this.#pulled(camera)) {
      return {
        reason: "pulled_camera",
        message: `camera "${camera}" is read from a --source and cannot also receive pushed frames`,
      };
    }
    if (!this.#lastVia.has(camera) && this.#lastVia.size >= this.maxCameras) {
      return {
        reason: "too_many_cameras",
        message: `already ${this.#lastVia.size} pushed cameras, the most --max-cameras allows`,
      };
    }
    return undefined;
  }

  /** Puts a JPEG that the caller has already checked. */
  put(
    camera: string,
    jpeg: Uint8Array,
    via: PushVia,
    size: { width?: number; height?: number } = {},
  ): Frame {
    if (this.#lastVia.get(camera) !== via) {
      this.#lastVia.set(camera, via);
      const previous = this.#cache.sourceStatus(camera);
      this.#cache.setSourceStatus(camera, {
        state: "push",
        since: previous?.state === "push" ? previous.since : Date.now(),
        spec: `push via ${via}`,
        detail: { via },
      });
    }
    this.#metrics.inc("detector_push_frames_total", "Frames accepted from push paths", { via });
    return this.#cache.put(camera, jpeg, size);
  }

  /** Counts a refused push input; `reason` is a short label such as `bad_token` or `too_big`. */
  countRejected(via: PushVia, reason: string): void {
    this.#metrics.inc("detector_push_rejected_total", "Push inputs refused, by path and reason", {
      via,
      reason,
    });
  }

  /** The registry the push paths count into. */
  get metrics(): Metrics {
    return this.#metrics;
  }
}
