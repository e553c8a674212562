/**
 * Connection loss and recovery of one server, logged once each (not once per failed write), and
 * exported as a gauge.
 */
import { type Logger, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";

export class OutageLog {
  #down = false;
  #since = 0;
  #log: Logger;

  readonly #metrics: Metrics;

  constructor(readonly server: string, metrics: Metrics, log: Logger = logger("actions")) {
    this.#log = log;
    this.#metrics = metrics;
    this.#metrics.set("detector_write_server_up", "1 while the server accepts writes", 1, {
      server,
    });
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** Records a failure; logs only on the transition to down. */
  down(reason: string, spooled: number): void {
    if (this.#down) return;
    this.#down = true;
    this.#since = Date.now();
    this.#metrics.set("detector_write_server_up", "1 while the server accepts writes", 0, {
      server: this.server,
    });
    this.#metrics.inc(
      "detector_write_server_outages_total",
      "Times a write server became unreachable",
      {
        server: this.server,
      },
    );
    this.#log.error(`${this.server} unreachable, spooling writes to disk until it is back`, {
      reason,
      spooled,
    });
  }

  /** Records a success; logs only on the transition back to up. */
  up(spooled: number): void {
    if (!this.#down) return;
    this.#down = false;
    this.#metrics.set("detector_write_server_up", "1 while the server accepts writes", 1, {
      server: this.server,
    });
    this.#log.info(`${this.server} is back, replaying spooled writes`, {
      downForS: Math.round((Date.now() - this.#since) / 1000),
      spooled,
    });
  }
}
