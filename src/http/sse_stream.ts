import type { Frame } from "../core/frame.ts";
import { metrics } from "../core/metrics.ts";
import type { ServeContext } from "./context.ts";
import { fanoutFor } from "./frame_fanout.ts";

const encoder = new TextEncoder();
const KEEPALIVE_MS = 15_000;

let open = 0;
metrics.collect(() => [{
  name: "detector_http_sse_clients",
  type: "gauge",
  help: "Open server-sent event streams",
  value: open,
}]);

export const sseHeaders = {
  "content-type": "text/event-stream",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
};

/** Memoises an event encoder per frame, so its bytes are built once and shared by every client. */
export function perFrame(encode: (frame: Frame) => Uint8Array): (frame: Frame) => Uint8Array {
  const memo = new WeakMap<Frame, Uint8Array>();
  return (frame) => {
    let bytes = memo.get(frame);
    if (!bytes) memo.set(frame, bytes = encode(frame));
    return bytes;
  };
}

/**
 * A server-sent event stream of one camera: one event per new frame (bytes from `event`), at most
 * `fps` per second; a slow client gets the newest frame when it is ready, never a backlog.
 */
export function sseFrameResponse(
  ctx: ServeContext,
  camera: string,
  fps: number,
  event: (frame: Frame) => Uint8Array,
  onSent?: () => void,
): Response {
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
      controller.enqueue(event(frame));
      onSent?.();
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
}
