/**
 * Lets one log line per key through every `periodMs`; the next line that passes says how many were
 * suppressed, so a flood of bad input cannot flood the log.
 */
export class LogThrottle {
  #last = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly periodMs = 5000, private readonly maxKeys = 1000) {}

  /** Undefined when the line should be dropped, else the count suppressed since the last one. */
  pass(key: string, now = Date.now()): number | undefined {
    const entry = this.#last.get(key);
    if (entry && now - entry.at < this.periodMs) {
      entry.suppressed++;
      return undefined;
    }
    const suppressed = entry?.suppressed ?? 0;
    if (!entry && this.#last.size >= this.maxKeys) this.#last.clear();
    this.#last.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }
}
