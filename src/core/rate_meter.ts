/**
 * Frames-per-second over a sliding window of the most recent arrival times. When frames stop,
 * the rate decays: the gap since the newest arrival counts once it is longer than the usual
 * interval, and the rate reaches 0 when the window holds no arrival.
 */
export class RateMeter {
  #times: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size = 32, private readonly windowMs = 5000) {
    this.#times = new Float64Array(size);
  }

  mark(now: number): void {
    this.#times[this.#next] = now;
    this.#next = (this.#next + 1) % this.#times.length;
    if (this.#count < this.#times.length) this.#count++;
  }

  rate(now: number): number {
    if (this.#count < 2) return 0;
    const newest = this.#times[(this.#next - 1 + this.#times.length) % this.#times.length];
    if (now - newest > this.windowMs) return 0;
    let n = 0;
    let oldest = newest;
    for (let i = 0; i < this.#count; i++) {
      const t = this.#times[(this.#next - 1 - i + this.#times.length * 2) % this.#times.length];
      if (now - t > this.windowMs) break;
      oldest = t;
      n++;
    }
    if (n < 2 || newest === oldest) return 0;
    const interval = (newest - oldest) / (n - 1);
    const gap = now - newest;
    return (n - 1) * 1000 / (gap > interval ? newest - oldest + gap - interval : newest - oldest);
  }
}
