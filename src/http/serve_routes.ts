import type { ServeContext } from "./context.ts";
import { type Route, Router } from "./router.ts";
import { cameraRoutes } from "./routes/camera_routes.ts";
import { eventsRoutes } from "./routes/events_routes.ts";
import { opsRoutes } from "./routes/ops_routes.ts";
import { snapshotRoutes } from "./routes/snapshot_routes.ts";
import { streamRoutes } from "./routes/stream_routes.ts";
import { viewerRoutes } from "./routes/viewer_routes.ts";

/** The frame routes every serving subcommand has, after the `features` routes it brings along. */
export function serveRouter(ctx: ServeContext, features: Route[] = []): Router {
  return new Router().add(
    ...features,
    ...viewerRoutes(),
    ...snapshotRoutes(ctx),
    ...streamRoutes(ctx),
    ...cameraRoutes(ctx),
    ...eventsRoutes(ctx),
    ...opsRoutes(ctx),
  );
}
