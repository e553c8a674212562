/**
 * Keeps a flood of identical complaints (a client hammering a bad URL, 1000 bad messages a second)
 * from flooding the log, whose writes are synchronous: per key, the first `burst` lines of each
 * `windowMs` pass; the first line that passes after a window says how many were left out.
 */
import type { Logger } from "./log.ts";

export interface LogThrottleOptions {
  /** Lines per key let through in each window; default 1. */
  burst?: number;
  /** Length of a window in ms, starting at the first line that passes; default 10 s. */
  windowMs?: number;
  /** Keys remembered at most; a new key beyond them forgets all (bounded memory). Default 1000. */
  maxKeys?: number;
}

export class LogThrottle {
  #windows = new Map<string, { start: number; passed: number; suppressed: number }>();
  readonly #burst: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;

  constructor(opts: LogThrottleOptions = {}) {
    this.#burst = opts.burst ?? 1;
    this.#windowMs = opts.windowMs ?? 10_000;
    this.#maxKeys = opts.maxKeys ?? 1000;
  }

  /** Undefined when the line should be dropped, else the count suppressed before it. */
  pass(key: string, now = Date.now()): number | undefined {
    let w = this.#windows.get(key);
    if (w && now - w.start >= this.#windowMs) {
      w = { start: now, passed: 0, suppressed: w.suppressed };
      this.#windows.set(key, w);
    }
    if (!w) {
      if (this.#windows.size >= this.#maxKeys) this.#windows.clear();
      w = { start: now, passed: 0, suppressed: 0 };
      this.#windows.set(key, w);
    }
    if (w.passed >= this.#burst) {
      w.suppressed++;
      return undefined;
    }
    w.passed++;
    const suppressed = w.suppressed;
    w.suppressed = 0;
    return suppressed;
  }

  /** Logs `msg` as a warning when `key` passes, with `suppressed` when lines were left out. */
  warn(
    log: Logger,
    key: string,
    msg: string,
    fields: Record<string, unknown> = {},
    now = Date.now(),
  ): void {
    const suppressed = this.pass(key, now);
    if (suppressed === undefined) return;
    log.warn(msg, suppressed > 0 ? { ...fields, suppressed } : fields);
  }
}
