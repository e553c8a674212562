import type { FrameCache } from "../core/mod.ts";
import type { Frame } from "../core/mod.ts";
import { logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { queryNumber } from "./query.ts";
import { jsonError } from "./responses.ts";
import { LogThrottle } from "../core/mod.ts";

const log = logger("http");
const unknownCamera = new LogThrottle();

/** What the HTTP routes of `serve` need to know. */
export interface ServeContext {
  cache: FrameCache;
  /** Upper bound for any client's frame rate. */
  targetFps: number;
  /** Aborted on shutdown: long-lived responses end when it fires. */
  shutdown: AbortSignal;
  /** `/healthz` answers 503 while any camera is down (for load balancers and watchdogs). */
  healthzStrict?: boolean;
  /** The camera that `/stream.mjpg` and `/snapshot.jpg` serve. */
  defaultCamera(): string | undefined;
  /** The registry the routes count into and `/metrics` shows. */
  metrics: Metrics;
}

/** The camera named in the route, or a 404 JSON response listing the known ones. */
export function resolveCamera(ctx: ServeContext, name: string | undefined): string | Response {
  if (name === undefined) {
    const d = ctx.defaultCamera();
    return d ?? jsonError(404, "no camera configured", { cameras: [] });
  }
  if (!ctx.cache.has(name)) {
    ctx.metrics.inc(
      "detector_http_not_found_total",
      "Requests for a camera or path that does not exist",
      {
        route: "camera",
      },
    );
    unknownCamera.warn(log, `camera:${name}`, "unknown camera requested", { camera: name });
    return jsonError(404, `unknown camera "${name}"`, { cameras: ctx.cache.cameras() });
  }
  return name;
}

/** `?fps=` capped by the server's target fps; missing means the target, malformed is a 400. */
export function clientFps(url: URL, ctx: ServeContext): number | Response {
  const asked = queryNumber(url, "fps", { min: 0, aboveMin: true }, ctx.metrics);
  if (asked instanceof Response) return asked;
  return Math.min(asked ?? ctx.targetFps, ctx.targetFps);
}

export function frameHeaders(frame: Frame): Record<string, string> {
  return {
    "x-camera": frame.camera,
    "x-frame-seq": String(frame.seq),
    "x-frame-time": new Date(frame.at).toISOString(),
  };
}
