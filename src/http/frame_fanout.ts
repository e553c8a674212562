import type { Frame } from "../core/frame.ts";
import type { FrameCache } from "../core/frame_cache.ts";

/** What a subscriber does with a frame; it is only called when the consumer asked for one. */
export type Deliver = (frame: Frame, skipped: number) => void;

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

  constructor(
    readonly camera: string,
    private readonly gapMs: number,
    private readonly fanout: FrameFanout,
    private readonly deliver: Deliver,
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
    if (!frame || frame.seq <= this.#lastSeq) return;
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
    this.deliver(frame, skipped);
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
 */
export class FrameFanout {
  #byCamera = new Map<string, Set<Subscriber>>();
  #unsubscribe: (() => void) | undefined;

  constructor(readonly cache: FrameCache) {}

  subscribe(camera: string, fps: number, deliver: Deliver): Subscriber {
    const sub = new Subscriber(camera, 1000 / fps, this, deliver);
    let set = this.#byCamera.get(camera);
    if (!set) this.#byCamera.set(camera, set = new Set());
    set.add(sub);
    this.#unsubscribe ??= this.cache.subscribe(this.#onFrame);
    return sub;
  }

  remove(sub: Subscriber): void {
    const set = this.#byCamera.get(sub.camera);
    if (!set) return;
    set.delete(sub);
    if (set.size === 0) this.#byCamera.delete(sub.camera);
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
