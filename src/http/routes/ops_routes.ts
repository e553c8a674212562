import { isLive } from "../../core/mod.ts";
import type { ServeContext } from "../context.ts";
import { json } from "../responses.ts";
import type { Route } from "../router.ts";

const states = ["idle", "connecting", "live", "backoff", "stopped", "push"];

export function opsRoutes(ctx: ServeContext): Route[] {
  ctx.metrics.collect(() =>
    ctx.cache.allStats().flatMap((s) => {
      const labels = { camera: s.camera };
      return [
        {
          name: "detector_frames_in_total",
          type: "counter" as const,
          help: "Frames put into the cache",
          value: s.framesIn,
          labels,
        },
        {
          name: "detector_bytes_in_total",
          type: "counter" as const,
          help: "JPEG bytes put into the cache",
          value: s.bytesIn,
          labels,
        },
        {
          name: "detector_camera_fps",
          type: "gauge" as const,
          help: "Frames per second arriving",
          value: s.fps,
          labels,
        },
        {
          name: "detector_frame_age_seconds",
          type: "gauge" as const,
          help: "Age of the latest frame (-1 before the first)",
          value: s.ageMs === null ? -1 : s.ageMs / 1000,
          labels,
        },
        {
          name: "detector_camera_up",
          type: "gauge" as const,
          help: "1 while the camera delivers frames (what /healthz counts as live)",
          value: isLive(s.source) ? 1 : 0,
          labels,
        },
        ...states.map((state) => ({
          name: "detector_source_state",
          type: "gauge" as const,
          help: "1 for the state the camera's source is in",
          value: s.source.state === state ? 1 : 0,
          labels: { camera: s.camera, state },
        })),
      ];
    })
  );
  return [
    {
      method: "GET",
      path: "/healthz",
      handler: () => {
        const cameras = ctx.cache.allStats();
        const down = cameras.filter((s) => !isLive(s.source)).map((s) => s.camera);
        const live = cameras.length - down.length;
        const status = down.length === 0 ? "ok" : live === 0 ? "down" : "degraded";
        return json(
          { status, cameras: { live, down }, targetFps: ctx.targetFps },
          ctx.healthzStrict && down.length > 0 ? 503 : 200,
        );
      },
    },
    {
      method: "GET",
      path: "/metrics",
      handler: () =>
        new Response(ctx.metrics.render(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        }),
    },
  ];
}
