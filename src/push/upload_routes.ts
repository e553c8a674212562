import { LogThrottle } from "../core/mod.ts";
import type { Params, Route } from "../http/mod.ts";
import type { IngestServices } from "./ingest_services.ts";
import { handleUpload, type UploadOptions } from "./upload_ingest.ts";

/** The client for log lines (address and port) and for the per-address budget (address). */
function clientOf(info: Deno.ServeHandlerInfo): { remote: string; address: string } {
  const addr = info.remoteAddr as Deno.NetAddr;
  return { remote: `${addr.hostname}:${addr.port}`, address: addr.hostname };
}

/** HTTP upload of frames: the screenshot API and form posts of the original camera services. */
export function uploadRoutes(ingest: IngestServices): Route[] {
  const opts: UploadOptions = {
    sink: ingest.sink,
    token: ingest.uploadToken,
    throttle: new LogThrottle({ windowMs: 5000 }),
    budget: ingest.budget,
  };
  return [
    {
      method: "POST",
      path: "/api/clients/:uuid/screenshot",
      handler: (req: Request, p: Params, info) =>
        handleUpload(req, { path: p.uuid }, opts, clientOf(info)),
    },
    {
      method: "POST",
      path: "/cameras/:name/image",
      handler: (req: Request, p: Params, info) =>
        handleUpload(req, { path: p.name }, opts, clientOf(info)),
    },
    {
      method: "POST",
      path: "/update-image",
      handler: (req: Request, _p: Params, info) =>
        handleUpload(req, { field: "cameraId" }, opts, clientOf(info)),
    },
  ];
}
