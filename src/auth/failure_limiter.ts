/**
 * Failed logins per client address: after `maxFailures` within `windowMs` the address is refused
 * until the window has passed. The table is bounded; when full, the oldest address is forgotten.
 */
export interface FailureLimiterOptions {
  maxFailures: number;
  windowMs: number;
  maxAddresses: number;
}

interface Entry {
  since: number;
  failures: number;
}

export class FailureLimiter {
  #byAddress = new Map<string, Entry>();

  constructor(
    private readonly o: FailureLimiterOptions = {
      maxFailures: 10,
      windowMs: 60_000,
      maxAddresses: 10_000,
    },
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds the address must still wait, 0 when it may try. */
  blockedFor(address: string): number {
    const e = this.#current(address);
    if (!e || e.failures < this.o.maxFailures) return 0;
    return Math.max(1, e.since + this.o.windowMs - this.now());
  }

  fail(address: string): void {
    let e = this.#current(address);
    if (!e) {
      if (this.#byAddress.size >= this.o.maxAddresses) {
        this.#byAddress.delete(this.#byAddress.keys().next().value!);
      }
      e = { since: this.now(), failures: 0 };
      this.#byAddress.set(address, e);
    }
    e.failures++;
  }

  succeed(address: string): void {
    this.#byAddress.delete(address);
  }

  get tracked(): number {
    return this.#byAddress.size;
  }

  #current(address: string): Entry | undefined {
    const e = this.#byAddress.get(address);
    if (e && this.now() - e.since >= this.o.windowMs) {
      this.#byAddress.delete(address);
      return undefined;
    }
    return e;
  }
}
