import type { FrameCache } from "../core/frame_cache.ts";
import type { Frame } from "../core/frame.ts";
import { sleep } from "../core/backoff.ts";
import { metrics } from "../core/metrics.ts";

export const BOUNDARY = "frame";
const encoder = new TextEncoder();

/** Multipart part bytes are built once per frame and shared by every client. */
const parts = new WeakMap<Frame, Uint8Array>();

function partOf(frame: Frame): Uint8Array {
  let part = parts.get(frame);
  if (!part) {
    const head = encoder.encode(
      `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.jpeg.byteLength}\r\nX-Frame-Seq: ${frame.seq}\r\nX-Frame-Time: ${frame.at}\r\n\r\n`,
    );
    part = new Uint8Array(head.byteLength + frame.jpeg.byteLength + 2);
    part.set(head, 0);
    part.set(frame.jpeg, head.byteLength);
    part.set([13, 10], head.byteLength + frame.jpeg.byteLength);
    parts.set(frame, part);
  }
  return part;
}

let open = 0;

export function openMjpegStreams(): number {
  return open;
}

metrics.collect(() => [{
  name: "detector_http_mjpeg_clients",
  type: "gauge",
  help: "Open MJPEG streams",
  value: open,
}]);

/**
 * A multipart/x-mixed-replace response. The stream is pulled by the socket: the next frame is only
 * fetched once the previous one was taken, so a slow client gets the newest frame, never a backlog.
 * Frames are sent as soon as they arrive, at most `fps` per second per client.
 */
export function mjpegResponse(
  cache: FrameCache,
  camera: string,
  fps: number,
  signals: AbortSignal[],
): Response {
  const abort = new AbortController();
  const signal = AbortSignal.any([abort.signal, ...signals]);
  const minGapMs = 1000 / fps;
  let lastSeq = 0;
  let lastSentAt = -Infinity;
  let closed = false;
  open++;
  const close = () => {
    if (closed) return;
    closed = true;
    open--;
    abort.abort();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        let frame = await cache.next(camera, lastSeq, signal);
        const wait = lastSentAt + minGapMs - performance.now();
        if (wait > 0) {
          await sleep(wait, signal);
          if (signal.aborted) throw new Error("aborted");
          frame = cache.latest(camera) ?? frame;
        }
        lastSeq = frame.seq;
        lastSentAt = performance.now();
        controller.enqueue(partOf(frame));
        metrics.inc("detector_http_mjpeg_frames_total", "Frames written to MJPEG clients", {
          camera,
        });
      } catch {
        close();
        try {
          controller.close();
        } catch {
          // already closed by the peer
        }
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    headers: {
      "content-type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
      "cache-control": "no-store, no-cache, must-revalidate",
      "pragma": "no-cache",
      "x-accel-buffering": "no",
    },
  });
}
