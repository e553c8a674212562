/** Redis writes (`redis_save_image` → SET [EX], `redis_publish` → PUBLISH) on a shared client. */
import { Buffer } from "node:buffer";
import { createClient, ErrorReply } from "redis";
import { errorMessage } from "../core/mod.ts";
import { redactText, redactUrl } from "../core/mod.ts";
import { hostPart } from "./postgres_actions.ts";
import type { FailureKind, WriteTarget } from "./write_queue.ts";
import type { WriteOp } from "./write_op.ts";

/**
 * Replies that say this write can never succeed (wrong type, bad syntax). Every other reply
 * (MISCONF, LOADING, BUSY, READONLY, OOM, max clients, auth…) says "not now": the write is
 * spooled and retried.
 */
const PERMANENT_REPLY =
  /^(WRONGTYPE|ERR (syntax error|wrong number of arguments|unknown command|invalid expire time|value is not|string exceeds maximum|Protocol error))/i;

export class RedisTarget implements WriteTarget {
  readonly name: string;
  #url: string;
  #client!: ReturnType<typeof createClient>;
  #lastError: unknown;
  #closed = false;

  constructor(url: string) {
    this.name = redactUrl(url);
    this.#url = url;
    this.#open();
  }

  /**
   * node-redis gives up for good when the server answers the handshake with an error (e.g. "max
   * number of clients reached"); a closed client is replaced by a new one on the next write.
   */
  #open(): void {
    const url = this.#url;
    this.#client = createClient({
      url,
      // Fail fast while disconnected: the write queue spools instead of node-redis buffering.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 5000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    });
    this.#client.on("error", (err: unknown) => this.#lastError = err);
    this.#client.connect().catch((err: unknown) => this.#lastError = err);
  }

  get isReady(): boolean {
    return this.#client.isReady;
  }

  async exec(op: WriteOp): Promise<void> {
    if (op.sink !== "redis") throw new Error(`not a Redis write: ${op.sink}`);
    if (!this.#client.isOpen && !this.#closed) this.#open();
    if (!this.#client.isReady) await this.#waitReady(2000);
    if (!this.#client.isReady) throw this.#lastError ?? new Error("not connected");
    if (op.op === "set") {
      const value = Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength);
      await this.#client.set(
        op.key,
        value,
        op.ttl ? { expiration: { type: "EX", value: Math.ceil(op.ttl) } } : undefined,
      );
    } else {
      await this.#client.publish(op.channel, op.message);
    }
  }

  reset(): void {
    if (this.#closed) return;
    try {
      if (this.#client.isOpen) this.#client.destroy();
    } catch {
      // already gone
    }
    this.#open();
  }

  /** Waits for the (re)connection in progress, at most `ms`. */
  #waitReady(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#client.off("ready", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#client.on("ready", done);
    });
  }

  classify(err: unknown): FailureKind {
    if (err instanceof ErrorReply && PERMANENT_REPLY.test(err.message)) return "rejected";
    return "unavailable";
  }

  describe(err: unknown): string {
    const msg = redactText(errorMessage(err));
    if (/WRONGPASS|NOAUTH/.test(msg)) {
      return `authentication failed (${msg}); check the password in the archive's redis block or DETECTOR_REDIS_URL`;
    }
    return msg || String((err as Error)?.name ?? err);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A server that stopped answering must not hold the shutdown: QUIT gets one second.
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (this.#client.isReady) {
        await Promise.race([
          this.#client.close(),
          new Promise((resolve) => timer = setTimeout(resolve, 1000)),
        ]);
      }
    } catch {
      // destroyed below
    } finally {
      clearTimeout(timer);
    }
    if (this.#client.isOpen) this.#client.destroy();
  }
}

/** `redis://[:password@]host:port/db` from an archive's `redis` block. */
export function redisUrl(c: { host: string; port: number; password?: string; db?: number }) {
  const auth = c.password ? `:${encodeURIComponent(c.password)}@` : "";
  return `redis://${auth}${hostPart(c.host)}:${c.port}/${c.db ?? 0}`;
}
