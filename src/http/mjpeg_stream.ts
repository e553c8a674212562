import type { FrameCache } from "../core/mod.ts";
import type { Frame } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { frameStream } from "./frame_stream.ts";

export const BOUNDARY = "frame";
const encoder = new TextEncoder();

/**
 * Each part ends with the next boundary, so the response starts with the first one: parsers that
 * end a part at its boundary (Firefox, most clients) take a frame on arrival. Chromium waits for
 * the next part's headers too, hence the repeat of a frame no newer one followed.
 */
const FIRST_BOUNDARY = encoder.encode(`--${BOUNDARY}\r\n`);
const TAIL = encoder.encode(`\r\n--${BOUNDARY}\r\n`);

/** Multipart part bytes are built once per frame and shared by every client. */
const parts = new WeakMap<Frame, Uint8Array<ArrayBuffer>>();

export function partOf(frame: Frame): Uint8Array<ArrayBuffer> {
  let part = parts.get(frame);
  if (!part) {
    const head = encoder.encode(
      `Content-Type: image/jpeg\r\nContent-Length: ${frame.jpeg.byteLength}\r\nX-Frame-Seq: ${frame.seq}\r\nX-Frame-Time: ${frame.at}\r\n\r\n`,
    );
    part = new Uint8Array(head.byteLength + frame.jpeg.byteLength + TAIL.byteLength);
    part.set(head, 0);
    part.set(frame.jpeg, head.byteLength);
    part.set(TAIL, head.byteLength + frame.jpeg.byteLength);
    parts.set(frame, part);
  }
  return part;
}

interface CameraCounts {
  sent: number;
  skipped: number;
  repeated: number;
}

/** Open MJPEG clients and frames sent per camera of one server, shown through its registry. */
export class MjpegStats {
  open = 0;
  #byCamera = new Map<string, CameraCounts>();

  constructor(metrics: Metrics) {
    metrics.collect(() => [
      {
        name: "detector_http_mjpeg_clients",
        type: "gauge",
        help: "Open MJPEG streams",
        value: this.open,
      },
      ...[...this.#byCamera].flatMap(([camera, c]) => [
        {
          name: "detector_http_mjpeg_frames_total",
          type: "counter" as const,
          help: "Frames written to MJPEG clients",
          value: c.sent,
          labels: { camera },
        },
        {
          name: "detector_http_mjpeg_frames_skipped_total",
          type: "counter" as const,
          help:
            "Frames an MJPEG client did not get because it or its fps cap was slower than the source",
          value: c.skipped,
          labels: { camera },
        },
        {
          name: "detector_http_mjpeg_frames_repeated_total",
          type: "counter" as const,
          help: "Frames sent to an MJPEG client a second time, so that browsers draw a slow " +
            "camera's frame without waiting for the next one",
          value: c.repeated,
          labels: { camera },
        },
      ]),
    ]);
  }

  camera(name: string): CameraCounts {
    let c = this.#byCamera.get(name);
    if (!c) this.#byCamera.set(name, c = { sent: 0, skipped: 0, repeated: 0 });
    return c;
  }
}

export const mjpegHeaders: Readonly<Record<string, string>> = Object.freeze({
  "content-type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
  "cache-control": "no-store, no-cache, must-revalidate",
  "pragma": "no-cache",
  "x-accel-buffering": "no",
});

/** A multipart/x-mixed-replace response of one camera (see `frameStream` for the delivery rules). */
export function mjpegResponse(
  cache: FrameCache,
  camera: string,
  fps: number,
  signals: AbortSignal[],
  stats: MjpegStats,
): Response {
  const c = stats.camera(camera);
  const body = frameStream(cache, camera, fps, signals, {
    encode: partOf,
    onSent: (_frame, skipped) => {
      c.sent++;
      c.skipped += skipped;
    },
    onOpen: () => stats.open++,
    onClose: () => stats.open--,
    prelude: FIRST_BOUNDARY,
    repeatIdle: true,
    onRepeat: () => c.repeated++,
  });
  return new Response(body, { headers: mjpegHeaders });
}
