/**
 * A bounded append-only queue on disk: one file per entry (`<seq>.json`, written to a temporary
 * name and renamed, so a crash never leaves half an entry), read back in sequence order. Entries
 * are only added at the tail and removed at the head; when the queue is over its entry or byte
 * limit the oldest entries are dropped and counted. The directory survives a restart: `open`
 * picks up whatever is left.
 */
import { errorMessage, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";

export const DEFAULT_SPOOL_MAX_ENTRIES = 10_000;
export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;

export interface SpoolOptions {
  /** Most entries kept (default 10000). */
  maxEntries?: number;
  /** Most bytes kept (default 256 MiB). */
  maxBytes?: number;
  /** Label for logs and metrics (e.g. the redacted server URL). */
  label?: string;
  /** Counts dropped writes and shows the spool's size. */
  metrics: Metrics;
}

interface Entry {
  seq: number;
  size: number;
  /** Resolves when the file is on disk. */
  written: Promise<void>;
}

const log = logger("spool");
const NAME = /^(\d{12})\.json$/;

export class Spool {
  #entries: Entry[] = [];
  #bytes = 0;
  #nextSeq = 1;
  #dropped = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly label: string;
  #unregister: () => void;
  readonly #metrics: Metrics;

  private constructor(readonly dir: string, opts: SpoolOptions) {
    this.#metrics = opts.metrics;
    this.maxEntries = opts.maxEntries ?? DEFAULT_SPOOL_MAX_ENTRIES;
    this.maxBytes = opts.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
    this.label = opts.label ?? dir;
    this.#unregister = this.#metrics.collect(() => [
      {
        name: "detector_spool_entries",
        type: "gauge",
        help: "Writes waiting in the on-disk spool",
        value: this.#entries.length,
        labels: { spool: this.label },
      },
      {
        name: "detector_spool_bytes",
        type: "gauge",
        help: "Bytes of writes waiting in the on-disk spool",
        value: this.#bytes,
        labels: { spool: this.label },
      },
    ]);
  }

  /** Opens (creating if needed) a spool directory and indexes the entries left in it. */
  static async open(dir: string, opts: SpoolOptions): Promise<Spool> {
    await Deno.mkdir(dir, { recursive: true });
    const spool = new Spool(dir, opts);
    const found: Entry[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      const m = NAME.exec(e.name);
      if (!m) {
        if (e.name.endsWith(".tmp")) await Deno.remove(`${dir}/${e.name}`).catch(() => {});
        continue;
      }
      const stat = await Deno.stat(`${dir}/${e.name}`);
      found.push({ seq: Number(m[1]), size: stat.size, written: Promise.resolve() });
    }
    found.sort((a, b) => a.seq - b.seq);
    spool.#entries = found;
    spool.#bytes = found.reduce((s, e) => s + e.size, 0);
    spool.#nextSeq = (found.at(-1)?.seq ?? 0) + 1;
    if (found.length) {
      log.info("spooled writes found", { spool: spool.label, entries: found.length });
    }
    return spool;
  }

  get size(): number {
    return this.#entries.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Entries dropped because the spool was full, since it was opened. */
  get dropped(): number {
    return this.#dropped;
  }

  #path(seq: number): string {
    return `${this.dir}/${String(seq).padStart(12, "0")}.json`;
  }

  /**
   * Appends an entry at the tail. The index is updated at once (so the order of calls is the
   * order of entries); the returned promise resolves when the file is written.
   */
  append(value: unknown): Promise<void> {
    const text = new TextEncoder().encode(JSON.stringify(value));
    const seq = this.#nextSeq++;
    const path = this.#path(seq);
    const written = (async () => {
      const tmp = `${path}.tmp`;
      await Deno.writeFile(tmp, text);
      await Deno.rename(tmp, path);
    })();
    const entry: Entry = { seq, size: text.byteLength, written };
    this.#entries.push(entry);
    this.#bytes += entry.size;
    this.#enforceLimits();
    return written.catch((err) => {
      log.error("cannot write spool entry; the write is lost", {
        spool: this.label,
        error: errorMessage(err),
      });
      this.#forget(entry);
      this.#metrics.inc("detector_spool_dropped_total", "Spooled writes dropped", {
        spool: this.label,
        reason: "io",
      });
    });
  }

  #enforceLimits(): void {
    while (
      this.#entries.length > 1 &&
      (this.#entries.length > this.maxEntries || this.#bytes > this.maxBytes)
    ) {
      const oldest = this.#entries[0];
      this.#forget(oldest);
      this.#dropped++;
      this.#metrics.inc("detector_spool_dropped_total", "Spooled writes dropped", {
        spool: this.label,
        reason: "full",
      });
      void oldest.written.then(() => Deno.remove(this.#path(oldest.seq))).catch(() => {});
    }
  }

  #forget(entry: Entry): void {
    const i = this.#entries.indexOf(entry);
    if (i < 0) return;
    this.#entries.splice(i, 1);
    this.#bytes -= entry.size;
  }

  /**
   * The oldest entry and its sequence number, or null when empty. An entry that cannot be read
   * or parsed is dropped (counted) and the next one returned.
   */
  async head(): Promise<{ seq: number; value: unknown } | null> {
    while (this.#entries.length) {
      const entry = this.#entries[0];
      try {
        await entry.written;
        const text = await Deno.readTextFile(this.#path(entry.seq));
        return { seq: entry.seq, value: JSON.parse(text) };
      } catch (err) {
        if (this.#entries[0] !== entry) continue; // dropped meanwhile
        log.warn("unreadable spool entry dropped", {
          spool: this.label,
          seq: entry.seq,
          error: errorMessage(err),
        });
        this.#metrics.inc("detector_spool_dropped_total", "Spooled writes dropped", {
          spool: this.label,
          reason: "corrupt",
        });
        await this.remove(entry.seq);
      }
    }
    return null;
  }

  /** Removes an entry (normally the head, after it was written to the server). */
  async remove(seq: number): Promise<void> {
    const entry = this.#entries.find((e) => e.seq === seq);
    if (!entry) return;
    this.#forget(entry);
    await entry.written.catch(() => {});
    await Deno.remove(this.#path(seq)).catch(() => {});
  }

  /** Waits until every appended entry is on disk. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#entries.map((e) => e.written));
  }

  close(): void {
    this.#unregister();
  }
}
