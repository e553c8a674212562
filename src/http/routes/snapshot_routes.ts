import { frameHeaders, resolveCamera, type ServeContext } from "../context.ts";
import { jsonError } from "../responses.ts";
import type { Params, Route } from "../router.ts";

export function snapshotRoutes(ctx: ServeContext): Route[] {
  const handler = (_req: Request, params: Params) => {
    const camera = resolveCamera(ctx, params.name);
    if (camera instanceof Response) return camera;
    const frame = ctx.cache.latest(camera);
    if (!frame) {
      const source = ctx.cache.sourceStatus(camera);
      return jsonError(503, `no frame from camera "${camera}" yet`, {
        state: source?.state,
        lastError: source?.lastError,
      }, { "retry-after": "1" });
    }
    return new Response(frame.jpeg as Uint8Array<ArrayBuffer>, {
      headers: {
        "content-type": "image/jpeg",
        "cache-control": "no-store",
        ...frameHeaders(frame),
      },
    });
  };
  return [
    { method: "GET", path: "/snapshot.jpg", handler },
    { method: "GET", path: "/cameras/:name/snapshot.jpg", handler },
  ];
}
