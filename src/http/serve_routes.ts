import type { ServeContext } from "./context.ts";
import type { IngestServices } from "../push/ingest_services.ts";
import { historyRoutes } from "./routes/history_routes.ts";
import { pushRoutes } from "./routes/push_routes.ts";
import { uploadRoutes } from "./routes/upload_routes.ts";
import { Router } from "./router.ts";
import { cameraRoutes } from "./routes/camera_routes.ts";
import { eventsRoutes } from "./routes/events_routes.ts";
import { opsRoutes } from "./routes/ops_routes.ts";
import { snapshotRoutes } from "./routes/snapshot_routes.ts";
import { streamRoutes } from "./routes/stream_routes.ts";
import { viewerRoutes } from "./routes/viewer_routes.ts";

/** Every route of `detector serve`. */
export function serveRouter(ctx: ServeContext, ingest?: IngestServices): Router {
  return new Router().add(
    ...(ingest
      ? [...pushRoutes(ctx, ingest), ...uploadRoutes(ingest), ...historyRoutes(ctx, ingest)]
      : []),
    ...viewerRoutes(ctx),
    ...snapshotRoutes(ctx),
    ...streamRoutes(ctx),
    ...cameraRoutes(ctx),
    ...eventsRoutes(ctx),
    ...opsRoutes(ctx),
  );
}
