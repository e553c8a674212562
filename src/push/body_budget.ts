import type { Metrics } from "../core/mod.ts";

/** Thrown when receiving a body would pass the global or the per-address budget. */
export class BodyBudgetError extends Error {
  constructor(readonly scope: "global" | "address", message: string) {
    super(message);
  }
}

export interface BodyBudgetLimits {
  /** Bytes of request bodies held at once by all uploads and pushes together. */
  totalBytes: number;
  /** Bytes held at once for one client address. */
  perAddressBytes: number;
}

export const DEFAULT_BODY_BUDGET: BodyBudgetLimits = {
  totalBytes: 128 * 1024 * 1024,
  perAddressBytes: 32 * 1024 * 1024,
};

/**
 * Memory for bodies being received is bounded by configuration, not by how many clients send
 * at once: every body reserves its bytes as they arrive and gives them back when it is done.
 */
export class BodyBudget {
  #used = 0;
  #byAddress = new Map<string, number>();

  constructor(public limits: BodyBudgetLimits, private readonly metrics: Metrics) {
    metrics.collect(() => [{
      name: "detector_body_bytes_in_flight",
      type: "gauge",
      help: "Bytes of upload and push bodies being received",
      value: this.#used,
    }]);
  }

  get used(): number {
    return this.#used;
  }

  /** Reserves `bytes` more for `address`; throws (and counts) when over a limit. */
  take(address: string, bytes: number): void {
    const mine = this.#byAddress.get(address) ?? 0;
    if (this.#used + bytes > this.limits.totalBytes) {
      this.#refused("global");
      throw new BodyBudgetError(
        "global",
        `server busy: ${this.limits.totalBytes} bytes of bodies are being received already`,
      );
    }
    if (mine + bytes > this.limits.perAddressBytes) {
      this.#refused("address");
      throw new BodyBudgetError(
        "address",
        `too much sent at once from this address (limit ${this.limits.perAddressBytes} bytes)`,
      );
    }
    this.#used += bytes;
    this.#byAddress.set(address, mine + bytes);
  }

  give(address: string, bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
    const left = (this.#byAddress.get(address) ?? 0) - bytes;
    if (left > 0) this.#byAddress.set(address, left);
    else this.#byAddress.delete(address);
  }

  #refused(scope: string): void {
    this.metrics.inc(
      "detector_body_budget_refused_total",
      "Bodies refused for lack of memory budget",
      {
        scope,
      },
    );
  }
}
