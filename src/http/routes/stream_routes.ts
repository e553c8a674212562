import { clientFps, resolveCamera, type ServeContext } from "../context.ts";
import { mjpegHeaders, mjpegResponse, MjpegStats } from "../mjpeg_stream.ts";
import type { Params, Route } from "../router.ts";

export function streamRoutes(ctx: ServeContext): Route[] {
  const stats = new MjpegStats(ctx.metrics);
  const handler = (req: Request, params: Params) => {
    const camera = resolveCamera(ctx, params.name);
    if (camera instanceof Response) return camera;
    if (req.method === "HEAD") return new Response(null, { headers: mjpegHeaders });
    const fps = clientFps(new URL(req.url), ctx);
    if (fps instanceof Response) return fps;
    return mjpegResponse(ctx.cache, camera, fps, [ctx.shutdown], stats);
  };
  return [
    { method: "GET", path: "/stream.mjpg", handler, direct: true },
    { method: "GET", path: "/stream", handler, direct: true },
    { method: "GET", path: "/cameras/:name/stream.mjpg", handler, direct: true },
  ];
}
