/**
 * The pulled cameras of `serve`, reconciled against a desired list (a reload of the cameras
 * file): added cameras start, removed ones stop and leave the cache, changed ones restart, and
 * unchanged ones are not touched, so their streams go on without a gap.
 */
import type { FrameCache } from "../core/mod.ts";
import { createSource } from "./registry.ts";
import type { Source, SourceOptions } from "./source.ts";

export interface NamedSpec {
  name: string;
  spec: string;
}

export interface ReconcileResult {
  added: string[];
  removed: string[];
  restarted: string[];
  unchanged: string[];
}

export class CameraSet {
  #running = new Map<string, { spec: string; source: Source }>();

  constructor(private readonly cache: FrameCache, private readonly opts: SourceOptions) {}

  names(): string[] {
    return [...this.#running.keys()];
  }

  has(name: string): boolean {
    return this.#running.has(name);
  }

  /**
   * Every source is created before anything stops, so a spec that cannot be parsed refuses the
   * whole list and the running cameras stay as they were.
   */
  async reconcile(desired: NamedSpec[]): Promise<ReconcileResult> {
    const out: ReconcileResult = { added: [], removed: [], restarted: [], unchanged: [] };
    const fresh = new Map<string, { spec: string; source: Source }>();
    for (const { name, spec } of desired) {
      const now = this.#running.get(name);
      if (now?.spec === spec) continue;
      fresh.set(name, { spec, source: createSource(name, spec, this.cache, this.opts) });
    }
    const wanted = new Set(desired.map((d) => d.name));
    for (const [name, cam] of this.#running) {
      if (wanted.has(name)) continue;
      await cam.source.stop();
      this.#running.delete(name);
      this.cache.remove(name);
      out.removed.push(name);
    }
    for (const { name } of desired) {
      const next = fresh.get(name);
      if (!next) {
        out.unchanged.push(name);
        continue;
      }
      const old = this.#running.get(name);
      if (old) {
        await old.source.stop();
        out.restarted.push(name);
      } else out.added.push(name);
      this.#running.set(name, next);
      next.source.start();
    }
    return out;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#running.values()].map((c) => c.source.stop()));
    this.#running.clear();
  }
}
