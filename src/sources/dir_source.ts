import { DEFAULT_MAX_FRAME_BYTES } from "../core/jpeg_splitter.ts";
import { basename, resolve } from "node:path";
import { sleep } from "../core/backoff.ts";
import type { FrameCache } from "../core/frame_cache.ts";
import { walkJpeg } from "../core/jpeg.ts";
import { errorMessage, logger } from "../core/log.ts";
import { metrics } from "../core/metrics.ts";
import { deleteFilesOlderThan, isJpegFileName } from "./dir_retention.ts";
import { ReconnectingSource } from "./reconnect_loop.ts";
import type { Source, SourceOptions } from "./source.ts";

/** How often, and how long in all, a file that ends before its EOI is read again. */
const RETRY_EVERY_MS = 50;
const RETRIES = 4;
/** Newest files tried at startup before giving up on the existing ones. */
const STARTUP_CANDIDATES = 5;
/** Events remembered while a file is read; beyond this only the newest one is kept. */
const MAX_PENDING = 1024;
/** Bad files remembered so that repeated events for them are not counted again. */
const MAX_SKIPPED = 512;

type Outcome = "served" | "skipped" | "gone" | "superseded" | "unchanged";

/**
 * `dir:/path` — a folder that another program fills with JPEG files. The newest
 * complete file is served; files still being written are read again a few times, corrupt ones
 * are skipped and counted; files older than `maxFrameAgeS` are deleted.
 */
class DirSource extends ReconnectingSource {
  /** File path → order number of the latest event that touched it. */
  #pending = new Map<string, number>();
  #order = 0;
  #wake: (() => void) | undefined;
  /** Event order of the file served last; older events are ignored. */
  #servedOrder = -1;
  /** File path → `mtime:size` of the bad file skipped there, so repeated events skip it quietly. */
  #skipped = new Map<string, string>();
  /** The file served last and its bytes: a repeated event for unchanged content is ignored. */
  #last: { path: string; jpeg: Uint8Array } = { path: "", jpeg: new Uint8Array(0) };
  #counts = { served: 0, skipped: 0, deleted: 0, superseded: 0, eventsDropped: 0 };

  constructor(
    camera: string,
    spec: string,
    cache: FrameCache,
    opts: SourceOptions,
    readonly dir: string,
  ) {
    super(camera, spec, cache, opts);
  }

  protected async connect(signal: AbortSignal): Promise<void> {
    await ensureFolderAsync(this.dir);
    const watcher = Deno.watchFs(this.dir, { recursive: false });
    const session = new AbortController();
    const end = () => {
      session.abort();
      this.#wake?.();
      try {
        watcher.close();
      } catch { /* already closed */ }
    };
    signal.addEventListener("abort", end, { once: true });
    const tasks: Promise<void>[] = [];
    try {
      tasks.push(this.#watch(watcher, session.signal));
      tasks.push(this.#maintain(session.signal));
      this.setState("live", undefined, { folder: this.dir, ...this.#counts });
      tasks.push(this.#serveExisting(session.signal).then(() => this.#serveLoop(session.signal)));
      await Promise.race(tasks);
    } finally {
      signal.removeEventListener("abort", end);
      end();
      await Promise.allSettled(tasks);
      this.#pending.clear();
    }
  }

  async #watch(watcher: Deno.FsWatcher, signal: AbortSignal): Promise<void> {
    for await (const ev of watcher) {
      if (ev.kind !== "create" && ev.kind !== "modify" && ev.kind !== "rename") continue;
      for (const path of ev.paths) {
        if (isJpegFileName(basename(path))) this.#enqueue(path);
      }
    }
    if (!signal.aborted) throw new Error(`stopped watching ${this.dir}`);
  }

  #enqueue(path: string): void {
    if (this.#pending.size >= MAX_PENDING && !this.#pending.has(path)) {
      this.#counts.eventsDropped += this.#pending.size;
      this.#pending.clear();
    }
    this.#pending.delete(path);
    this.#pending.set(path, ++this.#order);
    this.#wake?.();
  }

  /** Resolves when an event is pending, `ms` passed (if given) or the session ends. */
  #pendingOrTimeout(signal: AbortSignal, ms?: number): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((done) => {
      const timer = ms === undefined ? undefined : setTimeout(finish, ms);
      this.#wake = finish;
      function finish() {
        clearTimeout(timer);
        done();
      }
    }).then(() => {
      this.#wake = undefined;
    });
  }

  /** Serves the newest file already in the folder (by modification time). */
  async #serveExisting(signal: AbortSignal): Promise<void> {
    const files: { path: string; mtimeMs: number }[] = [];
    for await (const entry of Deno.readDir(this.dir)) {
      if (!entry.isFile || !isJpegFileName(entry.name)) continue;
      const path = resolve(this.dir, entry.name);
      try {
        const info = await Deno.stat(path);
        files.push({ path, mtimeMs: info.mtime?.getTime() ?? 0 });
      } catch { /* removed meanwhile */ }
      if (signal.aborted) return;
    }
    files.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const { path } of files.slice(0, STARTUP_CANDIDATES)) {
      if (signal.aborted || this.#pending.size > 0) return;
      const outcome = await this.#serveFile(path, 0, signal);
      if (outcome === "served" || outcome === "superseded") return;
    }
  }

  async #serveLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.#pending.size === 0) {
        await this.#pendingOrTimeout(signal);
        continue;
      }
      let path = "";
      let order = -1;
      for (const [p, o] of this.#pending) {
        if (o > order) [path, order] = [p, o];
      }
      this.#pending.delete(path);
      if (order <= this.#servedOrder) continue;
      const outcome = await this.#serveFile(path, order, signal);
      if (outcome === "served") {
        for (const [p, o] of this.#pending) if (o < order) this.#pending.delete(p);
      }
    }
  }

  /** Reads, validates and serves one file; a file that ends early is read again a few times. */
  async #serveFile(path: string, order: number, signal: AbortSignal): Promise<Outcome> {
    const name = basename(path);
    for (let attempt = 0; !signal.aborted; attempt++) {
      let info: Deno.FileInfo;
      let bytes: Uint8Array;
      try {
        info = await Deno.stat(path);
        if (!info.isFile) return "gone";
        if (this.#skipped.get(path) === signature(info)) return "unchanged";
        const max = this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
        if (info.size > max) return this.#skip(path, info, `file larger than ${max} bytes`);
        bytes = await Deno.readFile(path);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return "gone";
        this.log.warn("cannot read file", { file: name, error: errorMessage(err) });
        return "gone";
      }
      if (signal.aborted) return "gone";
      const check = walkJpeg(bytes);
      if (check !== "incomplete") {
        if (!check.ok) {
          return this.#skip(
            path,
            await statAfterRead(path, bytes),
            `not a valid JPEG: ${check.reason}`,
          );
        }
        const jpeg = bytes.subarray(0, check.info.length);
        if (path === this.#last.path && sameBytes(jpeg, this.#last.jpeg)) return "unchanged";
        const mtimeMs = info.mtime?.getTime() ?? Date.now();
        this.emit(jpeg, check.info.width, check.info.height, Math.min(Date.now(), mtimeMs));
        this.#servedOrder = order;
        this.#last = { path, jpeg };
        this.#skipped.delete(path);
        this.#counts.served++;
        this.setState("live", undefined, { lastFile: name, ...this.#counts });
        return "served";
      }
      if (attempt >= RETRIES) {
        return this.#skip(path, await statAfterRead(path, bytes), "truncated JPEG (no EOI)");
      }
      if (!this.#newerPending(order)) await this.#pendingOrTimeout(signal, RETRY_EVERY_MS);
      if (this.#newerPending(order)) {
        if (!this.#pending.has(path)) {
          this.#counts.superseded++;
          this.log.debug("incomplete file superseded by a newer one", { file: name });
        }
        return "superseded";
      }
    }
    return "gone";
  }

  #newerPending(order: number): boolean {
    for (const o of this.#pending.values()) if (o > order) return true;
    return false;
  }

  /** Counts and logs a bad file; `info` (when known to match what was read) stops re-counting it. */
  #skip(path: string, info: Deno.FileInfo | undefined, reason: string): "skipped" {
    const file = basename(path);
    if (info) {
      if (this.#skipped.size >= MAX_SKIPPED) this.#skipped.clear();
      this.#skipped.set(path, signature(info));
    }
    this.#counts.skipped++;
    this.reject(reason);
    this.log.warn("skipped file", { file, reason });
    this.setState(this.status().state, undefined, { lastSkipped: file, ...this.#counts });
    return "skipped";
  }

  /** Checks that the folder still exists and deletes files older than the maximum age. */
  async #maintain(signal: AbortSignal): Promise<void> {
    const maxAgeMs = (this.opts.maxFrameAgeS ?? 0) * 1000;
    const period = maxAgeMs > 0 ? Math.min(10_000, Math.max(200, maxAgeMs / 4)) : 2000;
    while (!signal.aborted) {
      await sleep(period, signal);
      if (signal.aborted) return;
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(this.dir);
      } catch (err) {
        throw new Error(`folder ${this.dir} is no longer readable: ${errorMessage(err)}`);
      }
      if (!info.isDirectory) throw new Error(`${this.dir} is no longer a folder`);
      if (maxAgeMs <= 0) continue;
      const { deleted, failed, firstError } = await deleteFilesOlderThan(
        this.dir,
        Date.now() - maxAgeMs,
        signal,
      );
      if (failed > 0) {
        metrics.inc(
          "detector_dir_delete_errors_total",
          "Old JPEG files a watched folder could not delete",
          { camera: this.camera },
          failed,
        );
        this.log.warn("cannot delete old files", { failed, first: firstError });
      }
      if (deleted > 0) {
        this.#counts.deleted += deleted;
        metrics.inc(
          "detector_dir_files_deleted_total",
          "JPEG files deleted from watched folders for being older than MAX_FRAME_AGE_S",
          { camera: this.camera },
          deleted,
        );
        this.log.debug("deleted old files", { count: deleted });
        this.setState(this.status().state, undefined, { ...this.#counts });
      }
    }
  }
}

function signature(info: Deno.FileInfo): string {
  return `${info.mtime?.getTime()}:${info.size}`;
}

/** The file's info after `bytes` were read from it, if it still has exactly that size. */
async function statAfterRead(path: string, bytes: Uint8Array): Promise<Deno.FileInfo | undefined> {
  try {
    const info = await Deno.stat(path);
    return info.size === bytes.length ? info : undefined;
  } catch {
    return undefined;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class DirSpecError extends Error {}

/** `dir:/path` or `dir:relative/path` → absolute folder path. */
export function parseDirSpec(spec: string): string {
  const path = spec.replace(/^dir:/i, "");
  if (path.trim() === "") throw new DirSpecError(`"${spec}" names no folder; use dir:/path`);
  return resolve(path);
}

/**
 * Startup check: creates a missing folder, refuses a path that exists but is not a folder.
 * Runs once before serving starts, so synchronous calls are fine here.
 */
function prepareFolder(camera: string, dir: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new DirSpecError(`camera "${camera}": cannot use folder ${dir}: ${errorMessage(err)}`);
    }
    try {
      Deno.mkdirSync(dir, { recursive: true });
    } catch (mkErr) {
      throw new DirSpecError(
        `camera "${camera}": cannot create folder ${dir}: ${errorMessage(mkErr)}`,
      );
    }
    logger(`source ${camera}`).info("created missing folder", { folder: dir });
    return;
  }
  if (!info.isDirectory) {
    throw new DirSpecError(`camera "${camera}": ${dir} exists but is not a folder`);
  }
}

async function ensureFolderAsync(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const info = await Deno.stat(dir);
  if (!info.isDirectory) throw new Error(`${dir} exists but is not a folder`);
}

export function createDirSource(
  camera: string,
  spec: string,
  cache: FrameCache,
  opts: SourceOptions,
): Source {
  const dir = parseDirSpec(spec);
  prepareFolder(camera, dir);
  return new DirSource(camera, spec, cache, opts, dir);
}
