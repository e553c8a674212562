import { join } from "node:path";
import type { Frame } from "../core/mod.ts";
import type { FrameCache } from "../core/mod.ts";
import { checkJpeg } from "../core/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { historyNameProblem, latestFile, parseHistoryFile, stampedFile } from "./history_names.ts";

export interface HistoryOptions {
  dir: string;
  /** Timestamped frames kept per camera; older ones are deleted. */
  keep: number;
  /** Frames waiting to be written; when full, new frames are dropped and counted. */
  queueMax?: number;
  /** At most one history frame per camera per this many ms (0 = every frame). */
  minIntervalMs?: number;
  /** Counts writes, deletions, drops and errors, and shows the queue. */
  metrics: Metrics;
}

export interface RestoredCamera {
  camera: string;
  frame: Frame;
}

const log = logger("history");

/**
 * Per-camera history on disk (the retention of the original screenshot service): every frame the cache receives is written
 * as `{camera}_{ms}.jpg` and becomes `{camera}.jpg`, the newest `keep` timestamped files are kept.
 * Writes run one at a time off the frame path, each atomic (temp file + rename).
 */
export class HistoryStore {
  readonly dir: string;
  readonly keep: number;
  readonly queueMax: number;
  readonly minIntervalMs: number;
  /** Capture time of the last frame taken for history, per camera. */
  #lastTaken = new Map<string, number>();
  /** Timestamps on disk per camera, ascending. */
  #index = new Map<string, number[]>();
  #queue: Frame[] = [];
  #draining: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #refusedNames = new Set<string>();
  #closed = false;
  readonly #metrics: Metrics;

  constructor(opts: HistoryOptions) {
    this.#metrics = opts.metrics;
    this.dir = opts.dir;
    this.keep = Math.max(1, Math.floor(opts.keep));
    this.queueMax = opts.queueMax ?? 64;
    this.minIntervalMs = Math.max(0, opts.minIntervalMs ?? 0);
    this.#metrics.collect(() => [{
      name: "detector_history_queue",
      type: "gauge",
      help: "Frames waiting to be written to history",
      value: this.#queue.length,
    }]);
  }

  /**
   * Creates the folder, removes temp files of an interrupted run, indexes the timestamped files and
   * puts each camera's `{camera}.jpg` back into the cache. Then records every new frame.
   */
  async open(
    cache: FrameCache,
    onRestored: (camera: string) => void = () => {},
  ): Promise<RestoredCamera[]> {
    await Deno.mkdir(this.dir, { recursive: true });
    const latest: string[] = [];
    for await (const entry of Deno.readDir(this.dir)) {
      if (!entry.isFile) continue;
      if (entry.name.startsWith(".") && entry.name.includes(".tmp-")) {
        await Deno.remove(join(this.dir, entry.name)).catch(() => {});
        continue;
      }
      const parsed = parseHistoryFile(entry.name);
      if (parsed?.kind === "stamped") this.#list(parsed.camera).push(parsed.ts);
      else if (parsed?.kind === "latest") latest.push(parsed.camera);
    }
    for (const list of this.#index.values()) list.sort((a, b) => a - b);
    const restored: RestoredCamera[] = [];
    for (const camera of latest) {
      const frame = await this.#restore(cache, camera);
      if (frame) {
        restored.push({ camera, frame });
        onRestored(camera);
      }
    }
    for (const camera of this.#index.keys()) await this.#prune(camera);
    this.#unsubscribe = cache.subscribe((frame) => this.#enqueue(frame));
    log.info("history on", {
      dir: this.dir,
      keep: this.keep,
      cameras: this.#index.size,
      restored: restored.map((r) => r.camera).join(",") || undefined,
    });
    return restored;
  }

  /** Timestamps of a camera's history files, newest first. */
  list(camera: string): number[] {
    return [...(this.#index.get(camera) ?? [])].reverse();
  }

  has(camera: string, ts: number): boolean {
    return this.#index.get(camera)?.includes(ts) ?? false;
  }

  pathOf(camera: string, ts: number): string {
    return join(this.dir, stampedFile(camera, ts));
  }

  /** Stops recording and waits for queued writes to finish. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    await this.#draining;
  }

  async #restore(cache: FrameCache, camera: string): Promise<Frame | undefined> {
    const path = join(this.dir, latestFile(camera));
    try {
      const [bytes, stat] = await Promise.all([Deno.readFile(path), Deno.stat(path)]);
      const check = checkJpeg(bytes);
      if (!check.ok) {
        this.#metrics.inc("detector_history_errors_total", "History files that failed", {
          op: "restore",
        });
        log.warn("latest file is not a complete JPEG; not restored", { path, error: check.reason });
        return undefined;
      }
      const stamps = this.#index.get(camera);
      const at = stamps?.length ? stamps[stamps.length - 1] : stat.mtime?.getTime() ?? Date.now();
      return cache.put(camera, bytes, { at, width: check.info.width, height: check.info.height });
    } catch (err) {
      this.#metrics.inc("detector_history_errors_total", "History files that failed", {
        op: "restore",
      });
      log.warn("could not restore latest frame", { path, error: errorMessage(err) });
      return undefined;
    }
  }

  #list(camera: string): number[] {
    let list = this.#index.get(camera);
    if (!list) this.#index.set(camera, list = []);
    return list;
  }

  #enqueue(frame: Frame): void {
    if (this.#closed) return;
    const problem = historyNameProblem(frame.camera);
    if (problem) {
      if (!this.#refusedNames.has(frame.camera) && this.#refusedNames.size < 1000) {
        this.#refusedNames.add(frame.camera);
        log.warn("camera not recorded in history", { camera: frame.camera, error: problem });
      }
      return;
    }
    const last = this.#lastTaken.get(frame.camera);
    if (last !== undefined && frame.at - last < this.minIntervalMs && frame.at >= last) return;
    this.#lastTaken.set(frame.camera, frame.at);
    if (this.#queue.length >= this.queueMax) {
      this.#metrics.inc(
        "detector_history_dropped_total",
        "Frames not written because the queue was full",
      );
      return;
    }
    this.#queue.push(frame);
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      let frame;
      while ((frame = this.#queue.shift())) {
        try {
          await this.#write(frame);
          this.#metrics.inc("detector_history_writes_total", "Frames written to history");
        } catch (err) {
          this.#metrics.inc("detector_history_errors_total", "History files that failed", {
            op: "write",
          });
          log.warn("history write failed", { camera: frame.camera, error: errorMessage(err) });
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #write(frame: Frame): Promise<void> {
    const list = this.#list(frame.camera);
    const last = list.length ? list[list.length - 1] : 0;
    const ts = Math.max(Math.floor(frame.at), last + 1);
    const stamped = join(this.dir, stampedFile(frame.camera, ts));
    const tmp = join(this.dir, `.${frame.camera}.tmp-${crypto.randomUUID()}`);
    await Deno.writeFile(tmp, frame.jpeg);
    await Deno.rename(tmp, stamped);
    list.push(ts);
    const tmpLatest = join(this.dir, `.${frame.camera}.tmp-${crypto.randomUUID()}`);
    try {
      await Deno.link(stamped, tmpLatest);
    } catch {
      await Deno.writeFile(tmpLatest, frame.jpeg);
    }
    await Deno.rename(tmpLatest, join(this.dir, latestFile(frame.camera)));
    await this.#prune(frame.camera);
  }

  async #prune(camera: string): Promise<void> {
    const list = this.#index.get(camera);
    if (!list) return;
    while (list.length > this.keep) {
      const ts = list.shift()!;
      try {
        await Deno.remove(this.pathOf(camera, ts));
        this.#metrics.inc("detector_history_deleted_total", "Old history files deleted");
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) {
          this.#metrics.inc("detector_history_errors_total", "History files that failed", {
            op: "delete",
          });
          log.warn("could not delete old history file", { camera, ts, error: errorMessage(err) });
        }
      }
    }
  }
}
