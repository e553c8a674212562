import type { Frame, FrameMeta } from "./frame.ts";
import type { SourceStatus } from "./source_status.ts";
import { RateMeter } from "./rate_meter.ts";

export interface CameraStats {
  camera: string;
  framesIn: number;
  bytesIn: number;
  lastSeq: number;
  fps: number;
  /** ms since the latest frame was put, or null before the first frame. */
  ageMs: number | null;
  width: number | null;
  height: number | null;
  waiters: number;
  source: SourceStatus;
}

export type FrameListener = (frame: Frame) => void;

interface Waiters {
  promise: Promise<Frame>;
  resolve: (f: Frame) => void;
  count: number;
}

class CameraSlot {
  latest: Frame | undefined;
  seq = 0;
  framesIn = 0;
  bytesIn = 0;
  readonly rate = new RateMeter();
  source: SourceStatus = { state: "idle", since: Date.now() };
  waiters: Waiters | undefined;
}

export class AbortedError extends Error {
  constructor() {
    super("aborted");
    this.name = "AbortError";
  }
}

/**
 * Latest-frame store: one slot per camera, no queue. A consumer slower than its source skips
 * frames. `next` waiters of one camera share a single promise, so a put costs O(1) however many
 * clients wait.
 */
export class FrameCache {
  #slots = new Map<string, CameraSlot>();
  #listeners = new Set<FrameListener>();

  #slot(camera: string): CameraSlot {
    let slot = this.#slots.get(camera);
    if (!slot) {
      slot = new CameraSlot();
      this.#slots.set(camera, slot);
    }
    return slot;
  }

  /** Registers a camera so that it is listed before its first frame. */
  ensure(camera: string): void {
    this.#slot(camera);
  }

  has(camera: string): boolean {
    return this.#slots.has(camera);
  }

  cameras(): string[] {
    return [...this.#slots.keys()];
  }

  put(camera: string, jpeg: Uint8Array, meta: FrameMeta = {}): Frame {
    const slot = this.#slot(camera);
    const frame: Frame = Object.freeze({
      camera,
      seq: ++slot.seq,
      at: meta.at ?? Date.now(),
      jpeg,
      width: meta.width ?? slot.latest?.width,
      height: meta.height ?? slot.latest?.height,
      ...(meta.rgb ? { rgb: meta.rgb } : {}),
      ...(meta.native ? { native: meta.native } : {}),
    });
    slot.latest = frame;
    slot.framesIn++;
    slot.bytesIn += jpeg.byteLength;
    slot.rate.mark(performance.now());
    const waiters = slot.waiters;
    if (waiters) {
      slot.waiters = undefined;
      waiters.resolve(frame);
    }
    for (const listener of this.#listeners) listener(frame);
    return frame;
  }

  latest(camera: string): Frame | undefined {
    return this.#slots.get(camera)?.latest;
  }

  /** Resolves with the first frame whose seq > afterSeq (at once if the latest is newer). */
  next(camera: string, afterSeq: number, signal?: AbortSignal): Promise<Frame> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const slot = this.#slot(camera);
    if (slot.latest && slot.latest.seq > afterSeq) return Promise.resolve(slot.latest);
    if (!slot.waiters) {
      let resolve!: (f: Frame) => void;
      const promise = new Promise<Frame>((r) => resolve = r);
      slot.waiters = { promise, resolve, count: 0 };
    }
    const waiters = slot.waiters;
    waiters.count++;
    if (!signal) {
      return waiters.promise.finally(() => waiters.count--);
    }
    return new Promise<Frame>((resolve, reject) => {
      const onAbort = () => {
        waiters.count--;
        reject(new AbortedError());
      };
      signal.addEventListener("abort", onAbort, { once: true });
      waiters.promise.then((frame) => {
        if (signal.aborted) return;
        signal.removeEventListener("abort", onAbort);
        waiters.count--;
        resolve(frame);
      });
    });
  }

  /** Called synchronously on every put; keep listeners cheap (queue work elsewhere). */
  subscribe(listener: FrameListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  setSourceStatus(camera: string, status: SourceStatus): void {
    this.#slot(camera).source = status;
  }

  sourceStatus(camera: string): SourceStatus | undefined {
    return this.#slots.get(camera)?.source;
  }

  remove(camera: string): void {
    this.#slots.delete(camera);
  }

  stats(camera: string, now = Date.now()): CameraStats | undefined {
    const slot = this.#slots.get(camera);
    if (!slot) return undefined;
    return {
      camera,
      framesIn: slot.framesIn,
      bytesIn: slot.bytesIn,
      lastSeq: slot.seq,
      fps: Math.round(slot.rate.rate(performance.now()) * 100) / 100,
      ageMs: slot.latest ? Math.max(0, now - slot.latest.at) : null,
      width: slot.latest?.width ?? null,
      height: slot.latest?.height ?? null,
      waiters: slot.waiters?.count ?? 0,
      source: slot.source,
    };
  }

  allStats(now = Date.now()): CameraStats[] {
    return this.cameras().map((c) => this.stats(c, now)!);
  }
}
