import { AbortedError } from "../../core/frame_cache.ts";
import { clientFps, resolveCamera, type ServeContext } from "../context.ts";
import type { Params, Route } from "../router.ts";
import { sleep } from "../../core/backoff.ts";

const encoder = new TextEncoder();
const KEEPALIVE_MS = 15_000;

/** Server-sent events: one `frame` event per new frame with seq, time and size. */
export function eventsRoutes(ctx: ServeContext): Route[] {
  const handler = (req: Request, params: Params) => {
    const camera = resolveCamera(ctx, params.name);
    if (camera instanceof Response) return camera;
    const minGapMs = 1000 / clientFps(new URL(req.url), ctx.targetFps);
    const abort = new AbortController();
    const signal = AbortSignal.any([abort.signal, ctx.shutdown]);
    let lastSeq = 0;
    let lastSentAt = -Infinity;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`retry: 2000\n\n`));
      },
      async pull(controller) {
        try {
          const keepalive = AbortSignal.any([signal, AbortSignal.timeout(KEEPALIVE_MS)]);
          let frame;
          try {
            frame = await ctx.cache.next(camera, lastSeq, keepalive);
          } catch (err) {
            if (signal.aborted || !(err instanceof AbortedError)) throw err;
            controller.enqueue(encoder.encode(`: keepalive\n\n`));
            return;
          }
          const wait = lastSentAt + minGapMs - performance.now();
          if (wait > 0) {
            await sleep(wait, signal);
            if (signal.aborted) throw new AbortedError();
            frame = ctx.cache.latest(camera) ?? frame;
          }
          lastSeq = frame.seq;
          lastSentAt = performance.now();
          const data = {
            camera,
            seq: frame.seq,
            time: new Date(frame.at).toISOString(),
            at: frame.at,
            size: frame.jpeg.byteLength,
            width: frame.width ?? null,
            height: frame.height ?? null,
          };
          controller.enqueue(
            encoder.encode(`event: frame\nid: ${frame.seq}\ndata: ${JSON.stringify(data)}\n\n`),
          );
        } catch {
          abort.abort();
          try {
            controller.close();
          } catch {
            // peer already gone
          }
        }
      },
      cancel() {
        abort.abort();
      },
    }, { highWaterMark: 0 });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  };
  return [{ method: "GET", path: "/cameras/:name/events", handler }];
}
