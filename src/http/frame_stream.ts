import type { Frame } from "../core/mod.ts";
import type { FrameCache } from "../core/mod.ts";
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
  /** Send a frame once more when the camera went idle after it (see `FrameFanout`). */
  repeatIdle?: boolean;
  onRepeat?(frame: Frame): void;
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
  const sub = fanoutFor(cache).subscribe(camera, fps, (frame, skipped, repeated) => {
    try {
      controller.enqueue(o.encode(frame));
      if (repeated) o.onRepeat?.(frame);
      else o.onSent?.(frame, skipped);
    } catch {
      finish();
    }
  }, o.repeatIdle);
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
      sub.want();
    },
    cancel() {
      finish();
    },
  }, { highWaterMark: 0 });
}
