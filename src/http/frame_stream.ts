import type { Frame } from "../core/frame.ts";
import type { FrameCache } from "../core/frame_cache.ts";
import { fanoutFor } from "./frame_fanout.ts";

export interface FrameStreamOptions {
  /** The bytes of one frame on the wire (built once per frame by the caller). */
  encode(frame: Frame): Uint8Array;
  /** Called after each frame was handed to the client, with how many it skipped before it. */
  onSent?(frame: Frame, skipped: number): void;
  /** Called once when the stream opens and once when it ends, however it ends. */
  onOpen?(): void;
  onClose?(): void;
  /** Bytes sent first. */
  prelude?: Uint8Array;
  /** Bytes sent every `everyMs` while the client is waiting (nothing queued). */
  keepalive?: { everyMs: number; bytes: Uint8Array };
  /**
   * The last frame's bytes are sent once more when no newer frame followed within `afterMs` and
   * the client took everything: Chromium draws a multipart part only once the headers of the
   * next part arrived, so without this a slow or stopped camera stays a frame behind (or black).
   */
  repeat?: { afterMs: number; onRepeat?(frame: Frame): void };
}

/**
 * A response body of one camera's frames, pulled by the socket: the next frame is handed over only
 * once the previous one was taken, so a slow client skips to the newest frame instead of queueing.
 * Frames are sent as they arrive, at most `fps` per second. The stream ends when the client goes
 * away or any of `signals` fires (shutdown).
 */
export function frameStream(
  cache: FrameCache,
  camera: string,
  fps: number,
  signals: AbortSignal[],
  o: FrameStreamOptions,
): ReadableStream<Uint8Array> {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    sub.close();
    clearTimeout(repeatTimer);
    if (keepalive !== undefined) clearInterval(keepalive);
    for (const s of signals) s.removeEventListener("abort", onAbort);
    o.onClose?.();
  };
  const onAbort = () => {
    finish();
    try {
      controller.close();
    } catch {
      // already closed or errored
    }
  };
  let repeatTimer: ReturnType<typeof setTimeout> | undefined;
  /** The client took everything sent and asked for more. */
  let waiting = false;
  const repeat = o.repeat;
  const repeatLater = repeat && ((frame: Frame) => {
    clearTimeout(repeatTimer);
    repeatTimer = setTimeout(() => {
      // Only for a camera with nothing newer: a rate cap or a slow client is no reason.
      if (finished || !waiting || cache.latest(camera)?.seq !== frame.seq) return;
      try {
        waiting = false;
        controller.enqueue(o.encode(frame));
        repeat.onRepeat?.(frame);
      } catch {
        finish();
      }
    }, repeat.afterMs);
  });
  const sub = fanoutFor(cache).subscribe(camera, fps, (frame, skipped) => {
    try {
      waiting = false;
      controller.enqueue(o.encode(frame));
      o.onSent?.(frame, skipped);
      repeatLater?.(frame);
    } catch {
      finish();
    }
  });
  const ka = o.keepalive;
  const keepalive = ka &&
    setInterval(() => {
      try {
        if ((controller.desiredSize ?? -1) >= 0) controller.enqueue(ka.bytes);
      } catch {
        finish();
      }
    }, ka.everyMs);
  o.onOpen?.();
  for (const s of signals) {
    if (s.aborted) queueMicrotask(onAbort);
    else s.addEventListener("abort", onAbort, { once: true });
  }
  return new ReadableStream<Uint8Array>({
    start(ctrl) {
      controller = ctrl;
      if (o.prelude) ctrl.enqueue(o.prelude);
    },
    pull() {
      waiting = true;
      sub.want();
    },
    cancel() {
      finish();
    },
  }, { highWaterMark: 0 });
}
