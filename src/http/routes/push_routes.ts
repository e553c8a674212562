import type { IngestServices } from "../../push/ingest_services.ts";
import type { ServeContext } from "../context.ts";
import { json } from "../responses.ts";
import type { Route } from "../router.ts";

/** The camera server routes: WebSocket push and the camera list. */
export function pushRoutes(ctx: ServeContext, ingest: IngestServices): Route[] {
  return [
    { method: "GET", path: "/push", handler: (req, _p, info) => ingest.push.handle(req, info) },
    { method: "GET", path: "/list", handler: () => json(ctx.cache.cameras()) },
  ];
}
