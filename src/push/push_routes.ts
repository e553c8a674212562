import type { ServeContext } from "../http/context.ts";
import { json } from "../http/responses.ts";
import type { Route } from "../http/router.ts";
import type { IngestServices } from "./ingest_services.ts";

/** The camera server routes: WebSocket push and the camera list. */
export function pushRoutes(ctx: ServeContext, ingest: IngestServices): Route[] {
  return [
    { method: "GET", path: "/push", handler: (req, _p, info) => ingest.push.handle(req, info) },
    { method: "GET", path: "/list", handler: () => json(ctx.cache.cameras()) },
  ];
}
