import type { Frame } from "../../core/frame.ts";
import { metrics } from "../../core/metrics.ts";
import { clientFps, resolveCamera, type ServeContext } from "../context.ts";
import { fanoutFor } from "../frame_fanout.ts";
import type { Params, Route } from "../router.ts";
import { imageEventsResponse } from "../../push/image_events.ts";

const encoder = new TextEncoder();
const KEEPALIVE_MS = 15_000;

let open = 0;
metrics.collect(() => [{
  name: "detector_http_sse_clients",
  type: "gauge",
  help: "Open server-sent event streams",
  value: open,
}]);

export function openEventStreams(): number {
  return open;
}

const sseHeaders = {
  "content-type": "text/event-stream",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
};

/** Event bytes are built once per frame and shared by every client of the camera. */
const events = new WeakMap<Frame, Uint8Array>();

function frameEvent(frame: Frame): Uint8Array {
  let bytes = events.get(frame);
  if (!bytes) events.set(frame, bytes = encodeFrameEvent(frame));
  return bytes;
}

function encodeFrameEvent(frame: Frame): Uint8Array {
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
}

/** Server-sent events: one `frame` event per new frame with seq, time and size. */
export function eventsRoutes(ctx: ServeContext): Route[] {
  const handler = (req: Request, params: Params) => {
    const camera = resolveCamera(ctx, params.name);
    if (camera instanceof Response) return camera;
    if (req.method === "HEAD") return new Response(null, { headers: sseHeaders });
    const url = new URL(req.url);
    const fps = clientFps(url, ctx.targetFps);
    if (url.searchParams.get("images") === "1") return imageEventsResponse(ctx, camera, fps);
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      open--;
      sub.close();
      clearInterval(keepalive);
      ctx.shutdown.removeEventListener("abort", onShutdown);
    };
    const onShutdown = () => {
      finish();
      try {
        controller.close();
      } catch {
        // peer already gone
      }
    };
    const sub = fanoutFor(ctx.cache).subscribe(camera, fps, (frame) => {
      try {
        controller.enqueue(frameEvent(frame));
      } catch {
        finish();
      }
    });
    // A comment line keeps proxies from closing an idle stream; only sent when nothing is queued.
    const keepalive = setInterval(() => {
      try {
        if ((controller.desiredSize ?? -1) >= 0) {
          controller.enqueue(encoder.encode(`: keepalive\n\n`));
        }
      } catch {
        finish();
      }
    }, KEEPALIVE_MS);
    open++;
    if (ctx.shutdown.aborted) queueMicrotask(onShutdown);
    else ctx.shutdown.addEventListener("abort", onShutdown, { once: true });
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        controller = ctrl;
        ctrl.enqueue(encoder.encode(`retry: 2000\n\n`));
      },
      pull() {
        sub.want();
      },
      cancel() {
        finish();
      },
    }, { highWaterMark: 0 });
    return new Response(body, { headers: sseHeaders });
  };
  return [{ method: "GET", path: "/cameras/:name/events", handler }];
}
