import type { Frame } from "../../core/mod.ts";
import { clientFps, resolveCamera, type ServeContext } from "../context.ts";
import { queryFlag } from "../query.ts";
import type { Params, Route } from "../router.ts";
import { perFrame, sseFrameResponse, sseHeaders } from "../sse_stream.ts";
import { imageEventsResponse } from "../image_events.ts";

const encoder = new TextEncoder();

const frameEvent = perFrame((frame: Frame) => {
  const data = {
    camera: frame.camera,
    seq: frame.seq,
    time: new Date(frame.at).toISOString(),
    at: frame.at,
    size: frame.jpeg.byteLength,
    width: frame.width ?? null,
    height: frame.height ?? null,
  };
  return encoder.encode(`event: frame\nid: ${frame.seq}\ndata: ${JSON.stringify(data)}\n\n`);
});

/** Server-sent events: one `frame` event per new frame with seq, time and size. */
export function eventsRoutes(ctx: ServeContext): Route[] {
  const handler = (req: Request, params: Params) => {
    const camera = resolveCamera(ctx, params.name);
    if (camera instanceof Response) return camera;
    if (req.method === "HEAD") return new Response(null, { headers: sseHeaders });
    const url = new URL(req.url);
    const fps = clientFps(url, ctx);
    if (fps instanceof Response) return fps;
    const images = queryFlag(url, "images", ctx.metrics);
    if (images instanceof Response) return images;
    if (images) return imageEventsResponse(ctx, camera, fps);
    return sseFrameResponse(ctx, camera, fps, frameEvent);
  };
  return [{ method: "GET", path: "/cameras/:name/events", handler, direct: true }];
}
