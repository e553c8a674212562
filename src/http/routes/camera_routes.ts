import type { CameraStats } from "../../core/mod.ts";
import type { ServeContext } from "../context.ts";
import { json } from "../responses.ts";
import type { Route } from "../router.ts";

export function cameraView(s: CameraStats) {
  const base = `/cameras/${encodeURIComponent(s.camera)}`;
  return {
    name: s.camera,
    state: s.source.state,
    since: new Date(s.source.since).toISOString(),
    lastError: s.source.lastError ?? null,
    previousError: s.source.previousError
      ? {
        message: s.source.previousError.message,
        at: new Date(s.source.previousError.at).toISOString(),
      }
      : null,
    source: s.source.spec ?? null,
    fps: s.fps,
    ageMs: s.ageMs,
    seq: s.lastSeq,
    framesIn: s.framesIn,
    width: s.width,
    height: s.height,
    detail: s.source.detail ?? {},
    stream: `${base}/stream.mjpg`,
    snapshot: `${base}/snapshot.jpg`,
    events: `${base}/events`,
  };
}

export function cameraRoutes(ctx: ServeContext): Route[] {
  return [{
    method: "GET",
    path: "/cameras",
    handler: () => json(ctx.cache.allStats().map(cameraView)),
  }];
}
