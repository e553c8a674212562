export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** A connection that stayed healthy this long resets the delay. */
  resetAfterMs?: number;
}

/** Exponential backoff with full jitter, capped. */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly resetAfterMs: number;
  attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.resetAfterMs = opts.resetAfterMs ?? 30_000;
  }

  /** Delay before the next attempt; `healthyMs` is how long the last attempt stayed up. */
  next(healthyMs = 0): number {
    if (healthyMs >= this.resetAfterMs) this.attempt = 0;
    const ceiling = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
