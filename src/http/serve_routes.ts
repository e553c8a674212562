import type { ServeContext } from "./context.ts";
import type { AccessGuard } from "./access_guard.ts";
import { type Route, Router } from "./router.ts";
import { cameraRoutes } from "./routes/camera_routes.ts";
import { eventsRoutes } from "./routes/events_routes.ts";
import { opsRoutes } from "./routes/ops_routes.ts";
import { snapshotRoutes } from "./routes/snapshot_routes.ts";
import { streamRoutes } from "./routes/stream_routes.ts";
import { viewerRoutes } from "./routes/viewer_routes.ts";
import { declareSseMetrics } from "./sse_stream.ts";

/** What a subcommand adds to the frame routes, and who guards them. */
export interface ServeRoutes {
  /** Routes that check their own credentials (WebSocket push tokens, the upload token). */
  open?: Route[];
  /** Feature routes behind the guard like the frame routes. */
  guarded?: Route[];
  guard?: AccessGuard;
}

/**
 * The routes of a serving subcommand: its own (`open` then `guarded`), then the frame routes.
 * With a guard, each needs credentials except `open` ones and those the guard leaves free.
 */
export function serveRouter(ctx: ServeContext, extra: ServeRoutes = {}): Router {
  const guard = extra.guard;
  const guarded = (routes: Route[]) => guard ? routes.map((r) => guard.route(r)) : routes;
  declareSseMetrics(ctx.metrics);
  return new Router(ctx.metrics).add(
    ...extra.open ?? [],
    ...guarded([
      ...extra.guarded ?? [],
      ...viewerRoutes(ctx),
      ...snapshotRoutes(ctx),
      ...streamRoutes(ctx),
      ...cameraRoutes(ctx),
      ...eventsRoutes(ctx),
      ...opsRoutes(ctx),
    ]),
  );
}
