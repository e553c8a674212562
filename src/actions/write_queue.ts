/**
 * The ordered write path to one server (docs/mpta.md "When Redis or PostgreSQL is down"). Writes are
 * executed one at a time, in submission order. While the server is unreachable they go to the
 * on-disk spool; a worker retries with backoff and replays the spool in order before anything
 * newer. Invariant: every spooled write is older than every write pending in memory.
 * At-least-once: a write that timed out may have happened and is retried (the writes are
 * idempotent: SET, upserts; a PUBLISH may repeat).
 */
import { Backoff, sleep } from "../core/mod.ts";
import { errorMessage, type Logger, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { OutageLog } from "./outage.ts";
import type { Spool } from "./spool.ts";
import { parseWriteOp, serializeOp, type WriteOp } from "./write_op.ts";

export type FailureKind = "unavailable" | "rejected";

/** A server that executes writes. */
export interface WriteTarget {
  /** Server URL without password, for logs and metrics. */
  readonly name: string;
  exec(op: WriteOp): Promise<void>;
  /** Unavailable (down, unreachable, auth refused: retry later) or rejected (drop this write). */
  classify(err: unknown): FailureKind;
  /** One-line reason for logs, secrets removed. */
  describe(err: unknown): string;
  /** Drops the connection after a write got no answer, so the next attempt starts afresh. */
  reset?(): void;
  close(): Promise<void>;
}

export interface WriteQueueOptions {
  /** Writes held in memory before they go to disk (default 256). */
  maxPending?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** A write not answered within this is treated as unavailable (default 10 s). */
  opTimeoutMs?: number;
  log?: Logger;
  /** Counts writes by result and drops, and shows the server's state. */
  metrics: Metrics;
}

class TimeoutError extends Error {
  override name = "TimeoutError";
}

export class WriteQueue {
  #pending: WriteOp[] = [];
  /** True from the start of the worker until it decides (synchronously) that nothing is left. */
  #active = false;
  #done: Promise<void> = Promise.resolve();
  #stop = new AbortController();
  #backoff: Backoff;
  #outage: OutageLog;
  #maxPending: number;
  #opTimeoutMs: number;
  #log: Logger;
  #rejectedLogged = new Set<string>();
  readonly #metrics: Metrics;

  constructor(readonly target: WriteTarget, readonly spool: Spool, opts: WriteQueueOptions) {
    this.#metrics = opts.metrics;
    this.#maxPending = opts.maxPending ?? 256;
    this.#opTimeoutMs = opts.opTimeoutMs ?? 10_000;
    this.#backoff = new Backoff({
      initialMs: opts.retryMinMs ?? 250,
      maxMs: opts.retryMaxMs ?? 5_000,
      resetAfterMs: Infinity,
    });
    this.#log = opts.log ?? logger("actions");
    this.#outage = new OutageLog(target.name, opts.metrics, this.#log);
    if (spool.size > 0) this.#kick();
  }

  get pending(): number {
    return this.#pending.length;
  }

  get isDown(): boolean {
    return this.#outage.isDown;
  }

  /** Queues the writes of one event (never throws, never waits for the server). */
  submit(ops: WriteOp[]): void {
    if (this.#stop.signal.aborted) {
      for (const op of ops) this.#toSpool(op);
      return;
    }
    if (this.#outage.isDown) {
      for (const op of ops) this.#toSpool(op);
    } else if (this.#pending.length + ops.length > this.#maxPending) {
      for (const op of this.#pending.splice(0)) this.#toSpool(op);
      for (const op of ops) this.#toSpool(op);
    } else {
      this.#pending.push(...ops);
    }
    this.#kick();
  }

  #toSpool(op: WriteOp): void {
    this.#metrics.inc("detector_writes_total", "Writes to Redis/PostgreSQL by result", {
      server: this.target.name,
      result: "spooled",
    });
    void this.spool.append(serializeOp(op));
  }

  #kick(): void {
    if (this.#active) return;
    this.#active = true;
    this.#done = this.#work().catch((err) => {
      this.#log.error("write worker failed", { error: errorMessage(err) });
    }).finally(() => this.#active = false);
  }

  async #work(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      let op: WriteOp;
      let seq: number | undefined;
      if (this.spool.size > 0) {
        const head = await this.spool.head();
        if (!head) continue;
        seq = head.seq;
        try {
          op = parseWriteOp(head.value);
        } catch (err) {
          this.#log.warn("invalid spool entry dropped", {
            spool: this.spool.label,
            error: errorMessage(err),
          });
          this.#metrics.inc("detector_spool_dropped_total", "Spooled writes dropped", {
            spool: this.spool.label,
            reason: "invalid",
          });
          await this.spool.remove(head.seq);
          continue;
        }
      } else if (this.#pending.length) {
        op = this.#pending[0];
      } else {
        this.#active = false;
        return;
      }
      const failure = await this.#attempt(op);
      if (failure === null || failure.kind === "rejected") {
        if (seq !== undefined) await this.spool.remove(seq);
        else this.#pending.shift();
        if (failure === null) {
          this.#backoff.reset();
          this.#outage.up(this.spool.size);
        } else {
          this.#rejected(op, failure.reason);
        }
        continue;
      }
      if (seq === undefined) { for (const p of this.#pending.splice(0)) this.#toSpool(p); }
      this.#outage.down(failure.reason, this.spool.size);
      await sleep(this.#backoff.next(), this.#stop.signal);
    }
  }

  async #attempt(op: WriteOp): Promise<{ kind: FailureKind; reason: string } | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        this.target.exec(op),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new TimeoutError(`no answer within ${this.#opTimeoutMs} ms`)),
            this.#opTimeoutMs,
          );
        }),
      ]);
      this.#metrics.inc("detector_writes_total", "Writes to Redis/PostgreSQL by result", {
        server: this.target.name,
        result: "ok",
      });
      return null;
    } catch (err) {
      if (err instanceof TimeoutError) this.target.reset?.();
      const kind = err instanceof TimeoutError ? "unavailable" : this.target.classify(err);
      return { kind, reason: this.target.describe(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  #rejected(op: WriteOp, reason: string): void {
    this.#metrics.inc("detector_writes_total", "Writes to Redis/PostgreSQL by result", {
      server: this.target.name,
      result: "rejected",
    });
    const what = `${op.sink}/${op.op}`;
    // Same reason again and again (a misconfigured table) is logged once per kind of write.
    const key = `${what}:${reason}`;
    if (this.#rejectedLogged.has(key)) return;
    this.#rejectedLogged.add(key);
    this.#log.error(`${this.target.name} refused a write; it is dropped`, { write: what, reason });
  }

  /**
   * Waits until nothing is pending or spooled (true), the server is down (false, the writes stay
   * in the spool), or the timeout passes (false).
   */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.#pending.length === 0 && this.spool.size === 0 && !this.#active) return true;
      if (this.#outage.isDown) return false;
      await sleep(20);
    }
    return false;
  }

  /** Stops the worker; writes still in memory go to the spool so the next start replays them. */
  async close(): Promise<void> {
    this.#stop.abort();
    // A write the server never answers must not hold the exit: it stays pending (or in the
    // spool) and is sent again on the next start.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#done, new Promise((r) => timer = setTimeout(r, 1000))]);
    clearTimeout(timer);
    for (const op of this.#pending.splice(0)) this.#toSpool(op);
    await this.spool.settled();
  }
}
