/** Redis writes (`redis_save_image` → SET [EX], `redis_publish` → PUBLISH) on a shared client. */
import { Buffer } from "node:buffer";
import { createClient, ErrorReply } from "redis";
import { errorMessage } from "../core/log.ts";
import { redactText, redactUrl } from "../core/redact.ts";
import { hostPart } from "./postgres_actions.ts";
import type { FailureKind, WriteTarget } from "./write_queue.ts";
import type { WriteOp } from "./write_op.ts";

/** Server replies that mean "not now" (auth, loading, failover) rather than "bad command". */
const UNAVAILABLE_REPLY = /^(NOAUTH|WRONGPASS|LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|OOM)/;

export class RedisTarget implements WriteTarget {
  readonly name: string;
  #client: ReturnType<typeof createClient>;
  #lastError: unknown;
  #closed = false;

  constructor(url: string) {
    this.name = redactUrl(url);
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
    if (err instanceof ErrorReply && !UNAVAILABLE_REPLY.test(err.message)) return "rejected";
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
    try {
      if (this.#client.isReady) await this.#client.close();
      else if (this.#client.isOpen) this.#client.destroy();
    } catch {
      if (this.#client.isOpen) this.#client.destroy();
    }
  }
}

/** `redis://[:password@]host:port/db` from an archive's `redis` block. */
export function redisUrl(c: { host: string; port: number; password?: string; db?: number }) {
  const auth = c.password ? `:${encodeURIComponent(c.password)}@` : "";
  return `redis://${auth}${hostPart(c.host)}:${c.port}/${c.db ?? 0}`;
}
