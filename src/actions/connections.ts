/**
 * Write paths (client + spool + ordered queue) shared by every runner that writes to the same
 * server: one per (server URL, spool directory), reference-counted, closed with the last user.
 * The connection URL comes from the archive's `redis`/`postgresql` block unless
 * DETECTOR_REDIS_URL / DETECTOR_POSTGRES_URL (or the caller) overrides it.
 */
import { createHash } from "node:crypto";
import { redactUrl } from "../core/mod.ts";
import { PostgresTarget } from "./postgres_actions.ts";
import { RedisTarget } from "./redis_actions.ts";
import { Spool } from "./spool.ts";
import { WriteQueue, type WriteQueueOptions, type WriteTarget } from "./write_queue.ts";

export type ServerKind = "redis" | "postgres";

export interface WriteLease {
  queue: WriteQueue;
  release(): Promise<void>;
}

export interface AcquireOptions extends WriteQueueOptions {
  spoolMaxEntries?: number;
  spoolMaxBytes?: number;
}

interface Shared {
  refs: number;
  ready: Promise<WriteQueue>;
}

const shared = new Map<string, Shared>();

/** The URL without its password: the same server under another password keeps its spool. */
function identity(url: string): string {
  try {
    const u = new URL(url);
    u.password = "";
    return u.toString();
  } catch {
    return redactUrl(url);
  }
}

export function spoolDirFor(kind: ServerKind, url: string, spoolDir: string): string {
  const hash = createHash("sha256").update(identity(url)).digest("hex").slice(0, 16);
  return `${spoolDir.replace(/\/+$/, "")}/${kind}-${hash}`;
}

function makeTarget(kind: ServerKind, url: string): WriteTarget {
  return kind === "redis" ? new RedisTarget(url) : new PostgresTarget(url);
}

/** Checks a connection URL's scheme so that a typo is a clear startup error. */
export function checkServerUrl(kind: ServerKind, url: string, what: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${what}: "${redactUrl(url)}" is not a URL`);
  }
  const ok = kind === "redis"
    ? ["redis:", "rediss:"].includes(u.protocol)
    : ["postgres:", "postgresql:"].includes(u.protocol);
  if (!ok) {
    throw new Error(
      `${what}: "${redactUrl(url)}" must start with ${
        kind === "redis" ? "redis:// or rediss://" : "postgres:// or postgresql://"
      }`,
    );
  }
}

export async function acquireWriteQueue(
  kind: ServerKind,
  url: string,
  spoolDir: string,
  opts: AcquireOptions,
): Promise<WriteLease> {
  const dir = spoolDirFor(kind, url, spoolDir);
  const key = `${kind}|${url}|${dir}`;
  let entry = shared.get(key);
  if (!entry) {
    const ready = (async () => {
      const spool = await Spool.open(dir, {
        maxEntries: opts.spoolMaxEntries,
        maxBytes: opts.spoolMaxBytes,
        label: `${kind}:${redactUrl(identity(url))}`,
        metrics: opts.metrics,
      });
      await Deno.writeTextFile(`${dir}/server.txt`, `${redactUrl(url)}\n`).catch(() => {});
      return new WriteQueue(makeTarget(kind, url), spool, opts);
    })();
    entry = { refs: 0, ready };
    shared.set(key, entry);
    ready.catch(() => shared.delete(key));
  }
  entry.refs++;
  const queue = await entry.ready;
  let released = false;
  const e = entry;
  return {
    queue,
    async release() {
      if (released) return;
      released = true;
      if (--e.refs > 0) return;
      shared.delete(key);
      await queue.close();
      await queue.target.close();
      queue.spool.close();
    },
  };
}

/** Number of shared write paths open (for tests and /metrics). */
export function openWriteQueues(): number {
  return shared.size;
}
