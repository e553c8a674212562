/** Per-connection message count of the current one-second window. */
export interface RateCounter {
  window: number;
  count: number;
}

/**
 * Caps the WebSocket messages taken from all push connections together per second. Deno delivers
 * the messages of a socket whose buffer never drains back to back, which starves every other task
 * (HTTP included), so a sender over its share is cut off instead of being read on. While the total
 * stays under the cap nobody is closed; over it, a connection that sent more than cap/connections
 * in the current second is.
 */
export class PushRateGuard {
  readonly maxPerSecond: number;
  #window = 0;
  #windowStart = -Infinity;
  #total = 0;
  #open = 0;

  /** `maxPerSecond` 0 or Infinity turns the cap off. */
  constructor(maxPerSecond: number) {
    this.maxPerSecond = maxPerSecond > 0 ? maxPerSecond : Infinity;
  }

  open(): RateCounter {
    this.#open++;
    return { window: -1, count: 0 };
  }

  close(): void {
    this.#open--;
  }

  /** Counts one message; returns why the connection must be closed, or undefined. */
  admit(c: RateCounter, now = performance.now()): string | undefined {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#window++;
      this.#total = 0;
    }
    if (c.window !== this.#window) {
      c.window = this.#window;
      c.count = 0;
    }
    c.count++;
    this.#total++;
    if (this.#total <= this.maxPerSecond) return undefined;
    const share = Math.floor(this.maxPerSecond / Math.max(1, this.#open));
    if (c.count <= share) return undefined;
    return `over ${share} messages per second (the server takes ${this.maxPerSecond}/s from all cameras)`;
  }
}
