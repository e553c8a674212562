import type { ServeContext } from "../http/mod.ts";
import { json } from "../http/mod.ts";
import type { Route } from "../http/mod.ts";
import type { IngestServices } from "./ingest_services.ts";

/** The camera server routes: WebSocket push and the camera list. */
export function pushRoutes(ctx: ServeContext, ingest: IngestServices): Route[] {
  return [
    { method: "GET", path: "/push", handler: (req, _p, info) => ingest.push.handle(req, info) },
    { method: "GET", path: "/list", handler: () => json(ctx.cache.cameras()) },
  ];
}
