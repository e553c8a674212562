import { DEFAULT_MAX_FRAME_BYTES } from "../core/mod.ts";
import { basename, resolve } from "node:path";
import { sleep } from "../core/mod.ts";
import type { FrameCache } from "../core/mod.ts";
import { walkJpeg } from "../core/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
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
/** A read that takes longer than this is abandoned (a stuck open must not hold the folder). */
const READ_TIMEOUT_MS = 5000;
/** Folder scans: for FIFOs and the like normally, for new files once the watcher is stuck. */
const SCAN_EVERY_MS = 2000;
const POLL_EVERY_MS = 250;

type Outcome = "served" | "skipped" | "gone" | "superseded" | "unchanged";

/**
 * `dir:/path` — a folder that another program fills with JPEG files. The newest complete
 * regular file is served; files still being written are read again a few times, corrupt ones and
 * anything that is not a regular file (FIFO, socket, device) are skipped, counted and logged once
 * per file. Files older than `maxAgeS` are deleted only when a maximum age was given.
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
  /**
   * Set once a FIFO, socket or device is seen: the file watcher opens what is created in the
   * folder and blocks in that open, so from then on the folder is polled instead.
   */
  #polling = false;
  /** Modification time of the newest file polled or served. */
  #newestMtime = 0;
  /** Files already warned about: a file that keeps failing is logged once, then only counted. */
  #warned = new Set<string>();
  #counts = { served: 0, skipped: 0, deleted: 0, superseded: 0, eventsDropped: 0 };

  constructor(
    camera: string,
    spec: string,
    cache: FrameCache,
    opts: SourceOptions,
    readonly dir: string,
    /** Delete JPEG files older than this (s); undefined or 0 deletes nothing. */
    readonly maxAgeS: number | undefined,
  ) {
    super(camera, spec, cache, opts);
    if (maxAgeS) {
      this.log.info(
        `deleting JPEG files older than ${maxAgeS} s in ${dir}, files already there included`,
        { folder: dir, maxAgeS },
      );
    } else {
      this.log.info("files in the folder are never deleted (no maximum age given)", {
        folder: dir,
      });
    }
  }

  /** Logs the first problem with a file at warn, the following ones at debug. */
  #warnOnce(path: string, msg: string, fields: Record<string, unknown>): void {
    if (this.#warned.has(path)) {
      this.log.debug(msg, fields);
      return;
    }
    if (this.#warned.size >= MAX_SKIPPED) this.#warned.clear();
    this.#warned.add(path);
    this.log.warn(msg, { ...fields, repeats: "counted in /metrics, not logged" });
  }

  protected async connect(signal: AbortSignal): Promise<void> {
    await ensureFolderAsync(this.dir);
    const watcher = Deno.watchFs(this.dir, { recursive: false });
    const session = new AbortController();
    const end = () => {
      session.abort();
      this.#wake?.();
      // A watcher blocked in opening a FIFO is left alone: closing it waits for that open.
      if (this.#polling) return;
      try {
        watcher.close();
      } catch { /* already closed */ }
    };
    signal.addEventListener("abort", end, { once: true });
    const tasks: Promise<void>[] = [];
    try {
      tasks.push(this.#watch(watcher, session.signal));
      tasks.push(this.#maintain(session.signal));
      tasks.push(this.#scanLoop(session.signal));
      this.setState("live", undefined, { folder: this.dir, ...this.#counts });
      tasks.push(this.#serveExisting(session.signal).then(() => this.#serveLoop(session.signal)));
      await Promise.race(tasks);
    } finally {
      signal.removeEventListener("abort", end);
      end();
      // A watcher stuck in the kernel must not hold up a restart or shutdown.
      await Promise.race([Promise.allSettled(tasks), sleep(2000)]);
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
      if (!isJpegFileName(entry.name)) continue;
      const path = resolve(this.dir, entry.name);
      try {
        const info = await Deno.stat(path);
        if (!info.isFile) {
          this.#skip(path, info, notRegular);
          continue;
        }
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
        if (this.#skipped.get(path) === signature(info)) return "unchanged";
        // Never open anything but a regular file: opening a FIFO blocks until a writer comes.
        if (!info.isFile) return this.#skip(path, info, notRegular);
        const max = this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
        if (info.size > max) return this.#skip(path, info, `file larger than ${max} bytes`);
        bytes = await readRegularFile(path, signal);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound || signal.aborted) return "gone";
        this.opts.metrics?.inc(
          "detector_dir_read_errors_total",
          "Files a watched folder could not read",
          {
            camera: this.camera,
          },
        );
        this.#warnOnce(path, "cannot read file", { file: name, error: errorMessage(err) });
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
        this.#newestMtime = Math.max(this.#newestMtime, mtimeMs);
        this.emit(jpeg, check.info.width, check.info.height, Math.min(Date.now(), mtimeMs));
        this.#servedOrder = order;
        this.#last = { path, jpeg };
        this.#skipped.delete(path);
        this.#warned.delete(path);
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
    this.count(reason);
    this.#warnOnce(path, "skipped file", { file, reason });
    this.setState(this.status().state, undefined, { lastSkipped: file, ...this.#counts });
    return "skipped";
  }

  async #scanLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.#polling ? POLL_EVERY_MS : SCAN_EVERY_MS, signal);
      if (signal.aborted) return;
      try {
        await this.#scan(signal);
      } catch (err) {
        this.log.debug("folder scan failed", { error: errorMessage(err) });
      }
    }
  }

  /**
   * Looks for entries that are not regular files (never opened, skipped once) and, in polling
   * mode, enqueues regular JPEG files newer than the newest one seen, oldest first.
   */
  async #scan(signal: AbortSignal): Promise<void> {
    const fresh: { path: string; mtimeMs: number }[] = [];
    for await (const entry of Deno.readDir(this.dir)) {
      if (signal.aborted) return;
      if (!isJpegFileName(entry.name) || entry.isDirectory) continue;
      if (entry.isFile && !this.#polling) continue;
      const path = resolve(this.dir, entry.name);
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(path);
      } catch {
        continue;
      }
      if (!info.isFile) {
        if (info.isDirectory) continue;
        if (!this.#polling) {
          this.#polling = true;
          this.log.warn(
            "the folder holds a FIFO, socket or device: polling it for new files from now on",
            { file: entry.name, everyMs: POLL_EVERY_MS },
          );
        }
        if (this.#skipped.get(path) !== signature(info)) this.#skip(path, info, notRegular);
        continue;
      }
      const mtimeMs = info.mtime?.getTime() ?? 0;
      if (mtimeMs > this.#newestMtime) fresh.push({ path, mtimeMs });
    }
    fresh.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of fresh) this.#enqueue(f.path);
    if (fresh.length) this.#newestMtime = fresh[fresh.length - 1].mtimeMs;
  }

  /** Checks that the folder still exists and deletes files older than the maximum age. */
  async #maintain(signal: AbortSignal): Promise<void> {
    const maxAgeMs = (this.maxAgeS ?? 0) * 1000;
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
        this.opts.metrics?.inc(
          "detector_dir_delete_errors_total",
          "Old JPEG files a watched folder could not delete",
          { camera: this.camera },
          failed,
        );
        this.log.warn("cannot delete old files", { failed, first: firstError });
      }
      if (deleted > 0) {
        this.#counts.deleted += deleted;
        this.opts.metrics?.inc(
          "detector_dir_files_deleted_total",
          "JPEG files deleted from watched folders for being older than MAX_FRAME_AGE_S",
          { camera: this.camera },
          deleted,
        );
        this.log.info(`deleted ${deleted} JPEG files older than ${this.maxAgeS} s`, {
          folder: this.dir,
          count: deleted,
        });
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

const notRegular = "not a regular file (FIFO, socket, device or folder)";

/** Reads a regular file; gives up after READ_TIMEOUT_MS or on abort, whatever the open does. */
async function readRegularFile(path: string, signal: AbortSignal): Promise<Uint8Array> {
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      (async () => {
        const file = await Deno.open(path, { read: true });
        let info: Deno.FileInfo;
        try {
          info = await file.stat();
        } catch (err) {
          file.close();
          throw err;
        }
        if (!info.isFile) {
          file.close();
          throw new Error(notRegular);
        }
        return new Uint8Array(await new Response(file.readable).arrayBuffer());
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`read took longer than ${READ_TIMEOUT_MS / 1000} s`)),
          READ_TIMEOUT_MS,
        );
        abort.signal.addEventListener("abort", () => reject(new Error("stopped")), {
          once: true,
        });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * `dir:/path`, `dir:relative/path`, optionally with `#max-age=SECONDS` → absolute folder path and
 * the maximum file age (undefined when not given).
 */
export function parseDirSpec(spec: string): { dir: string; maxAgeS?: number } {
  let path = spec.replace(/^dir:/i, "");
  let maxAgeS: number | undefined;
  const m = /#([a-z_-]+)=([^&#]*)$/i.exec(path);
  if (m) {
    if (m[1] !== "max-age") {
      throw new DirSpecError(`unknown folder option "${m[1]}" (known: max-age)`);
    }
    maxAgeS = Number(m[2]);
    if (m[2].trim() === "" || !Number.isFinite(maxAgeS) || maxAgeS < 0) {
      throw new DirSpecError(`folder option max-age=${m[2]}: expected seconds ≥ 0`);
    }
    path = path.slice(0, m.index);
  }
  if (path.trim() === "") throw new DirSpecError(`"${spec}" names no folder; use dir:/path`);
  return { dir: resolve(path), maxAgeS };
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
  const { dir, maxAgeS } = parseDirSpec(spec);
  prepareFolder(camera, dir);
  return new DirSource(camera, spec, cache, opts, dir, maxAgeS ?? opts.maxFrameAgeS);
}
