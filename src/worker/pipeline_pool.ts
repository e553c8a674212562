/**
 * Loaded pipelines, shared by archive content: subscriptions with the same archive use one
 * PipelineRunner (one set of ONNX sessions); the runner keeps tracker and session state per
 * `cameraId`, and each subscription passes its own identifier, so their events stay separate.
 * A runner no subscription holds is closed after a short linger (a crop change reuses it).
 */
import { errorMessage, logger } from "../core/mod.ts";
import type { PipelineArchive } from "../mpta/mod.ts";
import type { PipelineRunner } from "../pipeline/mod.ts";

export type ArchiveOpener = (path: string) => Promise<PipelineArchive>;
export type RunnerFactory = (archive: PipelineArchive) => Promise<PipelineRunner>;

export interface ArchiveResolver {
  resolve(modelUrl: string, modelId: number, signal?: AbortSignal): Promise<string>;
}

export interface PipelineLease {
  readonly runner: PipelineRunner;
  readonly archive: PipelineArchive;
  release(): void;
}

interface Entry {
  hash: string;
  archive: PipelineArchive;
  runner: Promise<PipelineRunner>;
  refs: number;
  linger?: ReturnType<typeof setTimeout>;
}

const log = logger("pipelines");

export class PipelinePool {
  #byHash = new Map<string, Entry>();
  /** Opened archives by path + mtime + size (downloads are content-named, local files may change). */
  #archives = new Map<string, Promise<PipelineArchive>>();

  constructor(
    private readonly resolver: ArchiveResolver,
    private readonly open: ArchiveOpener,
    private readonly create: RunnerFactory,
    private readonly lingerMs = 10_000,
  ) {}

  async acquire(modelUrl: string, modelId: number, signal?: AbortSignal): Promise<PipelineLease> {
    const path = await this.resolver.resolve(modelUrl, modelId, signal);
    const archive = await this.#openOnce(path);
    let entry = this.#byHash.get(archive.hash);
    if (!entry) {
      const runner = this.create(archive);
      entry = { hash: archive.hash, archive, runner, refs: 0 };
      this.#byHash.set(archive.hash, entry);
      runner.catch(() => {
        if (this.#byHash.get(archive.hash) === entry) this.#byHash.delete(archive.hash);
      });
    }
    entry.refs++;
    clearTimeout(entry.linger);
    const held = entry;
    let runner: PipelineRunner;
    try {
      runner = await held.runner;
    } catch (err) {
      held.refs--;
      throw err;
    }
    let released = false;
    return {
      runner,
      archive: held.archive,
      release: () => {
        if (released) return;
        released = true;
        if (--held.refs > 0) return;
        held.linger = setTimeout(() => this.#close(held), this.lingerMs);
      },
    };
  }

  async #openOnce(path: string): Promise<PipelineArchive> {
    const st = await Deno.stat(path);
    const key = `${path}|${st.mtime?.getTime() ?? 0}|${st.size}`;
    let p = this.#archives.get(key);
    if (!p) {
      p = this.open(path);
      this.#archives.set(key, p);
      p.catch(() => this.#archives.delete(key));
    }
    return await p;
  }

  #forget(hash: string): void {
    for (const [key, p] of this.#archives) {
      p.then((a) => {
        if (a.hash === hash && this.#archives.get(key) === p) this.#archives.delete(key);
      }, () => {});
    }
  }

  async #close(entry: Entry): Promise<void> {
    if (entry.refs > 0 || this.#byHash.get(entry.hash) !== entry) return;
    this.#byHash.delete(entry.hash);
    this.#forget(entry.hash);
    try {
      await (await entry.runner).close();
    } catch (err) {
      log.warn("closing a pipeline failed", { error: errorMessage(err) });
    }
  }

  get size(): number {
    return this.#byHash.size;
  }

  /** Closes every runner (flushes their pending writes); shutdown only. */
  async closeAll(): Promise<void> {
    const entries = [...this.#byHash.values()];
    this.#byHash.clear();
    this.#archives.clear();
    await Promise.all(entries.map(async (e) => {
      clearTimeout(e.linger);
      try {
        await (await e.runner).close();
      } catch (err) {
        log.warn("closing a pipeline failed", { error: errorMessage(err) });
      }
    }));
  }
}
