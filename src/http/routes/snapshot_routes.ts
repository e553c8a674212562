import type { Frame } from "../../core/mod.ts";
import { frameHeaders, resolveCamera, type ServeContext } from "../context.ts";
import { bytesResponse } from "../bytes_response.ts";
import { jsonError } from "../responses.ts";
import type { Params, Route } from "../router.ts";

/** Header lists are built once per frame: a snapshot request only wraps the shared bytes. */
const headersOf = new WeakMap<Frame, [string, string][]>();

function snapshotHeaders(frame: Frame): [string, string][] {
  let h = headersOf.get(frame);
  if (!h) {
    h = [
      ["content-type", "image/jpeg"],
      ["cache-control", "no-store"],
      ...Object.entries(frameHeaders(frame)),
    ];
    headersOf.set(frame, h);
  }
  return h;
}

export function snapshotRoutes(ctx: ServeContext): Route[] {
  const handler = (_req: Request, params: Params) => {
    const camera = resolveCamera(ctx, params.name);
    if (camera instanceof Response) return camera;
    const frame = ctx.cache.latest(camera);
    if (!frame) {
      const source = ctx.cache.sourceStatus(camera);
      return jsonError(503, `no frame from camera "${camera}" yet`, {
        camera,
        state: source?.state ?? null,
        lastError: source?.lastError ?? null,
      }, { "retry-after": "1" });
    }
    return bytesResponse(frame.jpeg as Uint8Array<ArrayBuffer>, {
      headers: snapshotHeaders(frame),
    });
  };
  return [
    { method: "GET", path: "/snapshot.jpg", handler, direct: true },
    { method: "GET", path: "/cameras/:name/snapshot.jpg", handler, direct: true },
  ];
}
