/**
 * Keeps a flood of identical complaints (1000 bad messages a second) from flooding the log: the
 * first `burst` per key and window are logged, the rest counted and summarised once.
 */
import type { Logger } from "../core/log.ts";

export class LogThrottle {
  #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly log: Logger,
    private readonly burst = 10,
    private readonly windowMs = 10_000,
  ) {}

  warn(key: string, msg: string, fields?: Record<string, unknown>, now = Date.now()): void {
    let w = this.#windows.get(key);
    if (w && now - w.start >= this.windowMs) {
      const suppressed = w.count - this.burst;
      if (suppressed > 0) {
        this.log.warn("similar messages were not logged", { key, suppressed });
      }
      w = undefined;
    }
    if (!w) {
      if (this.#windows.size > 1000) this.#windows.clear();
      w = { start: now, count: 0 };
      this.#windows.set(key, w);
    }
    w.count++;
    if (w.count <= this.burst) this.log.warn(msg, fields);
  }
}
