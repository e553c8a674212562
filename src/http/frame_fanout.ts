import type { Frame } from "../core/mod.ts";
import type { FrameCache } from "../core/mod.ts";

/**
 * What a subscriber does with a frame; it is only called when the consumer asked for one.
 * `repeated` marks the second sending of an idle frame (see `FrameFanout`).
 */
export type Deliver = (frame: Frame, skipped: number, repeated: boolean) => void;

/**
 * The per-client cap is a token bucket holding at most BURST frames. It earns tokens 5 % faster
 * than the cap: a source running exactly at the cap then keeps the bucket full, so frames that
 * come early by up to half a gap (jitter) go out at once instead of locking every later frame
 * into waiting for its slot. Sources faster than the cap are thinned to at most 1.05 × the cap.
 */
const BURST = 1.5;
const SLACK = 1.05;

/**
 * One consumer of one camera's frames (an MJPEG or SSE client). Delivery is pulled: `want()` says
 * the consumer can take one more frame, which is then delivered as soon as a frame newer than the
 * last one exists and the client's rate cap allows it. A consumer that is not ready when frames
 * arrive gets the newest one when it asks again, never a backlog.
 */
export class Subscriber {
  #wanting = false;
  #lastSeq = 0;
  #tokens = BURST;
  #refilledAt = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #repeatedSeq = 0;

  constructor(
    readonly camera: string,
    private readonly gapMs: number,
    private readonly fanout: FrameFanout,
    private readonly deliver: Deliver,
    readonly repeatIdle = false,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  want(): void {
    if (this.#closed) return;
    this.#wanting = true;
    this.offer();
  }

  /** Called on every new frame of the camera and when the rate-cap timer fires. */
  offer(): void {
    if (!this.#wanting || this.#closed || this.#timer !== undefined) return;
    const frame = this.fanout.cache.latest(this.camera);
    if (!frame) return;
    if (frame.seq === this.#lastSeq) {
      if (this.repeatIdle && this.#repeatedSeq !== frame.seq && this.fanout.idle(frame)) {
        this.#repeatedSeq = frame.seq;
        this.#wanting = false;
        this.deliver(frame, 0, true);
      }
      return;
    }
    if (frame.seq < this.#lastSeq) return;
    const now = performance.now();
    this.#tokens = Math.min(BURST, this.#tokens + (now - this.#refilledAt) * SLACK / this.gapMs);
    this.#refilledAt = now;
    if (this.#tokens < 0.99) {
      this.#timer = setTimeout(this.#onTimer, Math.ceil((1 - this.#tokens) * this.gapMs / SLACK));
      return;
    }
    this.#tokens = Math.max(0, this.#tokens - 1);
    const skipped = this.#lastSeq === 0 ? 0 : frame.seq - this.#lastSeq - 1;
    this.#lastSeq = frame.seq;
    this.#wanting = false;
    this.deliver(frame, skipped, false);
  }

  #onTimer = () => {
    this.#timer = undefined;
    this.offer();
  };

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.fanout.remove(this);
  }
}

/**
 * Hands each new frame of a camera to the subscribers that are ready for one. One cache listener
 * serves every client, so a frame costs no promise or timer per client.
 *
 * A frame is idle once `repeatAfterMs` passed since it arrived without a newer one. Subscribers
 * that ask for it (`repeatIdle`) get an idle frame a second time, once, when they are waiting for
 * more: Chromium draws a multipart part only when the next part's headers arrive, so a slow or
 * stopped camera would otherwise stay a frame behind, or black. One timer per camera notices.
 */
export class FrameFanout {
  #byCamera = new Map<string, Set<Subscriber>>();
  /** Per camera: when its newest frame arrived, and the timer that fires when it turns idle. */
  #arrived = new Map<
    string,
    { seq: number; at: number; timer?: ReturnType<typeof setTimeout> }
  >();
  #unsubscribe: (() => void) | undefined;
  readonly repeatAfterMs: number;

  constructor(readonly cache: FrameCache, opts: { repeatAfterMs?: number } = {}) {
    this.repeatAfterMs = opts.repeatAfterMs ?? 500;
  }

  /** When `frame` arrived; its capture time if it came while this fan-out was not listening. */
  #arrivalOf(frame: Frame): number {
    const a = this.#arrived.get(frame.camera);
    return a && a.seq === frame.seq ? a.at : frame.at;
  }

  /** True when no newer frame followed `frame` for `repeatAfterMs`. */
  idle(frame: Frame): boolean {
    // 1 ms early still counts: the camera's timer may fire a hair before the clock agrees.
    return Date.now() - this.#arrivalOf(frame) >= this.repeatAfterMs - 1;
  }

  /** Offers the camera's repeat subscribers a repeat once `frame` turns idle (one timer). */
  #armIdleTimer(frame: Frame): void {
    const set = this.#byCamera.get(frame.camera);
    const last = this.#arrived.get(frame.camera);
    if (!set || (last?.seq === frame.seq && last.timer !== undefined)) return;
    const entry = { seq: frame.seq, at: this.#arrivalOf(frame), timer: last?.timer };
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      for (const sub of set) if (sub.repeatIdle) sub.offer();
    }, Math.max(0, entry.at + this.repeatAfterMs - Date.now()));
    this.#arrived.set(frame.camera, entry);
  }

  subscribe(camera: string, fps: number, deliver: Deliver, repeatIdle = false): Subscriber {
    const sub = new Subscriber(camera, 1000 / fps, this, deliver, repeatIdle);
    let set = this.#byCamera.get(camera);
    if (!set) this.#byCamera.set(camera, set = new Set());
    set.add(sub);
    this.#unsubscribe ??= this.cache.subscribe(this.#onFrame);
    const latest = this.cache.latest(camera);
    if (repeatIdle && latest) this.#armIdleTimer(latest);
    return sub;
  }

  remove(sub: Subscriber): void {
    const set = this.#byCamera.get(sub.camera);
    if (!set) return;
    set.delete(sub);
    if (set.size === 0) {
      this.#byCamera.delete(sub.camera);
      const a = this.#arrived.get(sub.camera);
      clearTimeout(a?.timer);
      if (a) a.timer = undefined;
    }
    if (this.#byCamera.size === 0 && this.#unsubscribe) {
      this.#unsubscribe();
      this.#unsubscribe = undefined;
    }
  }

  subscribers(camera?: string): number {
    if (camera !== undefined) return this.#byCamera.get(camera)?.size ?? 0;
    let n = 0;
    for (const set of this.#byCamera.values()) n += set.size;
    return n;
  }

  #onFrame = (frame: Frame) => {
    const set = this.#byCamera.get(frame.camera);
    if (!set) return;
    clearTimeout(this.#arrived.get(frame.camera)?.timer);
    this.#arrived.set(frame.camera, { seq: frame.seq, at: Date.now() });
    this.#armIdleTimer(frame);
    for (const sub of set) sub.offer();
  };
}

const fanouts = new WeakMap<FrameCache, FrameFanout>();

/** The fan-out of a cache, created on first use. */
export function fanoutFor(cache: FrameCache): FrameFanout {
  let f = fanouts.get(cache);
  if (!f) fanouts.set(cache, f = new FrameFanout(cache));
  return f;
}
