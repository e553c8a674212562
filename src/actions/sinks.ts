/**
 * Where an event's writes go: the Redis and PostgreSQL servers of the archive (or the URLs that
 * override them), each a leased write queue with its spool; in dry-run nothing is written and each
 * write is only reported, as `--dry-run` prints it.
 */
import type { Logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";
import type { PipelineNode, PipelineSpec } from "../mpta/mod.ts";
import {
  acquireWriteQueue,
  checkServerUrl,
  type ServerKind,
  type WriteLease,
} from "./connections.ts";
import { postgresUrl } from "./postgres_actions.ts";
import { redisUrl } from "./redis_actions.ts";
import type { WriteOp } from "./write_op.ts";

/**
 * One planned write, as `--dry-run` prints it. Image bytes are summarised by size and format; all
 * other writes are the ops themselves.
 */
export type PlannedWrite =
  | { sink: "redis"; op: "set"; key: string; bytes: number; format: "jpeg" | "png"; ttl?: number }
  | Exclude<WriteOp, { op: "set" }>;

export type SinkUrls = Partial<Record<ServerKind, string>>;

/** The server URLs: the overrides, else the archive's `redis` and `postgresql` blocks. */
export function sinkUrls(
  spec: PipelineSpec,
  overrides: { redisUrl?: string; postgresUrl?: string },
): SinkUrls {
  return {
    redis: overrides.redisUrl ?? (spec.redis ? redisUrl(spec.redis) : undefined),
    postgres: overrides.postgresUrl ??
      (spec.postgresql ? postgresUrl(spec.postgresql) : undefined),
  };
}

/** True when an action of the node or a node below it writes to `sink`. */
export function usesSink(node: PipelineNode, sink: ServerKind): boolean {
  const actions = [...node.actions, ...node.parallelActions];
  const hit = actions.some((a) =>
    sink === "redis"
      ? a.type !== "postgresql_update_combined"
      : a.type === "postgresql_update_combined"
  );
  return hit || node.branches.some((b) => usesSink(b, sink));
}

export function planned(op: WriteOp): PlannedWrite {
  if (op.sink === "redis") {
    if (op.op === "set") {
      const png = op.value[0] === 0x89 && op.value[1] === 0x50;
      return {
        sink: "redis",
        op: "set",
        key: op.key,
        bytes: op.value.byteLength,
        format: png ? "png" : "jpeg",
        ...(op.ttl ? { ttl: op.ttl } : {}),
      };
    }
    return op;
  }
  if (op.op === "upsert") {
    const fields: Record<string, string | number | null> = { ...op.fields };
    for (const c of op.now ?? []) fields[c] = "NOW()";
    return { ...op, fields };
  }
  return op;
}

export interface WriteSinksOptions {
  /** Directory of the on-disk spool for failed writes. */
  spoolDir: string;
  spoolMaxEntries?: number;
  spoolMaxBytes?: number;
  /** Run no writes; each write that would happen is passed to `onPlannedWrite` instead. */
  dryRun?: boolean;
  /** Called with every write submitted (or, with dryRun, that would be). */
  onPlannedWrite?: (write: PlannedWrite, ctx: { cameraId: string }) => void;
  /** PostgreSQL is needed even without a PostgreSQL action (session rows). */
  sessions?: boolean;
  log: Logger;
  /** Counts writes dropped for want of a server (and, through the queues, all writes). */
  metrics: Metrics;
}

/** The leased write queues of one pipeline, by server kind. */
export class WriteSinks {
  #leases: Partial<Record<ServerKind, WriteLease>> = {};
  #missingWarned = new Set<ServerKind>();

  private constructor(private readonly opts: WriteSinksOptions) {}

  /**
   * Leases a write queue for each server the tree writes to (none in dry-run); a server it
   * needs without a URL is warned about and its writes are dropped and counted.
   */
  static async open(
    root: PipelineNode,
    urls: SinkUrls,
    opts: WriteSinksOptions,
  ): Promise<WriteSinks> {
    const sinks = new WriteSinks(opts);
    if (opts.dryRun) return sinks;
    const log = opts.log;
    try {
      for (const kind of ["redis", "postgres"] as const) {
        const url = urls[kind];
        const needed = usesSink(root, kind) || (kind === "postgres" && opts.sessions === true);
        if (!needed) continue;
        if (!url) {
          log.warn(
            `the pipeline writes to ${kind} but the archive has no ${
              kind === "redis" ? "redis" : "postgresql"
            } block and DETECTOR_${kind.toUpperCase()}_URL is not set: those writes are dropped`,
          );
          continue;
        }
        checkServerUrl(kind, url, kind === "redis" ? "Redis URL" : "PostgreSQL URL");
        sinks.#leases[kind] = await acquireWriteQueue(kind, url, opts.spoolDir, {
          spoolMaxEntries: opts.spoolMaxEntries,
          spoolMaxBytes: opts.spoolMaxBytes,
          log,
          metrics: opts.metrics,
        });
        log.info(`${kind} writes go to ${redactUrl(url)}`, { spoolDir: opts.spoolDir });
      }
    } catch (err) {
      await sinks.close();
      throw err;
    }
    return sinks;
  }

  /** Reports every op, then (unless dry-run) queues them on their server's write queue. */
  submit(ops: WriteOp[], cameraId: string): void {
    const byKind: Record<ServerKind, WriteOp[]> = { redis: [], postgres: [] };
    for (const op of ops) {
      byKind[op.sink].push(op);
      this.opts.onPlannedWrite?.(planned(op), { cameraId });
    }
    if (this.opts.dryRun) return;
    for (const kind of ["redis", "postgres"] as const) {
      if (byKind[kind].length === 0) continue;
      const lease = this.#leases[kind];
      if (!lease) {
        this.opts.metrics.inc("detector_writes_total", "Writes to Redis/PostgreSQL by result", {
          server: kind,
          result: "no_server",
        }, byKind[kind].length);
        if (!this.#missingWarned.has(kind)) {
          this.#missingWarned.add(kind);
          this.opts.log.warn(`no ${kind} server configured: writes dropped`);
        }
        continue;
      }
      lease.queue.submit(byKind[kind]);
    }
  }

  /** Waits until submitted writes reached their servers (false: some are still spooled). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const results = await Promise.all(
      Object.values(this.#leases).map((l) => l!.queue.flush(timeoutMs)),
    );
    return results.every(Boolean);
  }

  /** Releases the write queues (the spool stays on disk). */
  async close(): Promise<void> {
    const leases = Object.values(this.#leases);
    this.#leases = {};
    await Promise.allSettled(leases.map((l) => l!.release()));
  }
}
