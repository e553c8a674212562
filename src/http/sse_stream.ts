import type { Frame } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import type { ServeContext } from "./context.ts";
import { frameStream } from "./frame_stream.ts";

const encoder = new TextEncoder();
const KEEPALIVE_MS = 15_000;

const CLIENTS = "detector_http_sse_clients";
const CLIENTS_HELP = "Open server-sent event streams";

/** Shows the open-streams gauge (at 0) before the first client comes. */
export function declareSseMetrics(metrics: Metrics): void {
  metrics.add(CLIENTS, CLIENTS_HELP, 0);
}

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
 * `fps` per second; a slow client gets the newest frame when it is ready, never a backlog. A comment
 * line keeps proxies from closing an idle stream.
 */
export function sseFrameResponse(
  ctx: ServeContext,
  camera: string,
  fps: number,
  event: (frame: Frame) => Uint8Array,
  onSent?: () => void,
): Response {
  const body = frameStream(ctx.cache, camera, fps, [ctx.shutdown], {
    encode: event,
    onSent,
    onOpen: () => ctx.metrics.add(CLIENTS, CLIENTS_HELP, 1),
    onClose: () => ctx.metrics.add(CLIENTS, CLIENTS_HELP, -1),
    prelude: encoder.encode(`retry: 2000\n\n`),
    keepalive: { everyMs: KEEPALIVE_MS, bytes: encoder.encode(`: keepalive\n\n`) },
  });
  return new Response(body, { headers: sseHeaders });
}
