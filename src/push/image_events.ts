import { Buffer } from "node:buffer";
import type { Frame } from "../core/frame.ts";
import { metrics } from "../core/metrics.ts";
import type { ServeContext } from "../http/context.ts";
import { fanoutFor } from "../http/frame_fanout.ts";

const encoder = new TextEncoder();
const KEEPALIVE_MS = 15_000;

/** The SSE event of a frame is built once and shared by every `?images=1` client. */
const events = new WeakMap<Frame, Uint8Array>();

function imageEvent(frame: Frame): Uint8Array {
  let ev = events.get(frame);
  if (!ev) {
    const data = JSON.stringify({
      camera: frame.camera,
      seq: frame.seq,
      time: new Date(frame.at).toISOString(),
      width: frame.width ?? null,
      height: frame.height ?? null,
      image: Buffer.from(frame.jpeg.buffer, frame.jpeg.byteOffset, frame.jpeg.byteLength)
        .toString("base64"),
    });
    ev = encoder.encode(`event: image\nid: ${frame.seq}\ndata: ${data}\n\n`);
    events.set(frame, ev);
  }
  return ev;
}

/**
 * `GET /cameras/{name}/events?images=1` (seed `002_…` stream-image): one `image` event per new
 * frame whose data is JSON with the JPEG in base64 (`image`), at most `fps` per second; a slow
 * client gets the newest frame when it is ready, never a backlog.
 */
export function imageEventsResponse(ctx: ServeContext, camera: string, fps: number): Response {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
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
      controller.enqueue(imageEvent(frame));
      metrics.inc("detector_http_image_events_total", "Frames sent as SSE image events");
    } catch {
      finish();
    }
  });
  const keepalive = setInterval(() => {
    try {
      if ((controller.desiredSize ?? -1) >= 0) {
        controller.enqueue(encoder.encode(`: keepalive\n\n`));
      }
    } catch {
      finish();
    }
  }, KEEPALIVE_MS);
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
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
