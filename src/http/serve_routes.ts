import type { ServeContext } from "./context.ts";
import type { IngestServices } from "../push/ingest_services.ts";
import type { AccessGuard } from "./access_guard.ts";
import { historyRoutes } from "./routes/history_routes.ts";
import { pushRoutes } from "./routes/push_routes.ts";
import { uploadRoutes } from "./routes/upload_routes.ts";
import { type Route, Router } from "./router.ts";
import { cameraRoutes } from "./routes/camera_routes.ts";
import { eventsRoutes } from "./routes/events_routes.ts";
import { opsRoutes } from "./routes/ops_routes.ts";
import { snapshotRoutes } from "./routes/snapshot_routes.ts";
import { streamRoutes } from "./routes/stream_routes.ts";
import { viewerRoutes } from "./routes/viewer_routes.ts";

/**
 * Every route of `detector serve`. With a guard, each needs credentials except `/healthz` and
 * the ingest routes that check their own (WebSocket push tokens, the upload token).
 */
export function serveRouter(
  ctx: ServeContext,
  ingest?: IngestServices,
  guard?: AccessGuard,
): Router {
  const guarded = (routes: Route[]) => guard ? routes.map((r) => guard.route(r)) : routes;
  const ownCredentials = (r: Route) =>
    r.path === "/push" || (r.method === "POST" && !!ingest?.uploadToken);
  const ingestRoutes = ingest
    ? [...pushRoutes(ctx, ingest), ...uploadRoutes(ingest), ...historyRoutes(ctx, ingest)]
    : [];
  return new Router().add(
    ...ingestRoutes.filter(ownCredentials),
    ...guarded([
      ...ingestRoutes.filter((r) => !ownCredentials(r)),
      ...viewerRoutes(ctx),
      ...snapshotRoutes(ctx),
      ...streamRoutes(ctx),
      ...cameraRoutes(ctx),
      ...eventsRoutes(ctx),
      ...opsRoutes(ctx),
    ]),
  );
}
