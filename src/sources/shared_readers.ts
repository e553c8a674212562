/**
 * Shared readers: one source per normalized camera URL, reference counted. Two consumers of the
 * same URL share one reader (one ffmpeg child); the reader stops when the last lease is released.
 * Crops are per consumer (`applyCrop`), never applied in the shared reader.
 *
 * ```ts
 * const readers = new SharedReaders(cache, { maxRetries: -1, timeoutMs: 10_000 });
 * const lease = readers.acquire("rtsp://user:pw@cam/stream");          // a video stream
 * const snap = readers.acquire("http://cam/snap.jpg", { kind: "snapshot", intervalMs: 5000 });
 * lease.camera;              // FrameCache key: normalized URL, password replaced by ***
 * lease.status();            // SourceStatus (state, lastError, detail.pid, detail.inputFps, …)
 * const f = await cache.next(lease.camera, lastSeq, signal);   // f.rgb with `output: "rgb"`
 * const c = await cropFrameJpeg(f, { x1, y1, x2, y2 });       // JPEG of the crop, raw or not
 * await lease.release();     // idempotent; the last release stops the reader, drops the cache slot
 * await readers.stopAll();   // shutdown
 * liveFfmpegChildren();      // live ffmpeg children of this process (tests)
 * await stopAllChildren();   // SIGTERM every child, SIGKILL after grace, reap
 * ```
 *
 * `kind: "stream"` (default) reads `http(s)://` URLs as video through ffmpeg (`ffmpeg:` prefix);
 * `kind: "snapshot"` polls them as JPEG snapshots every `intervalMs`. Other specs go to the
 * source registry unchanged (`rtsp://`, `rtsps://`, files, `testpattern:`, …). With
 * `output: "rgb"` (what `run` uses) ffmpeg readers put raw RGB frames (`Frame.rgb`) into the cache
 * instead of JPEGs; readers of JPEG sources (snapshots, MJPEG) are not affected.
 */
import type { FrameCache } from "../core/mod.ts";
import type { SourceStatus } from "../core/mod.ts";
import { logger } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";
import { createSource } from "./registry.ts";
import type { Source, SourceOptions } from "./source.ts";

export { applyCrop, CropError, type CropRect, hasCrop } from "./crop.ts";
export { liveChildPids, liveFfmpegChildren, stopAllChildren } from "./ffmpeg_process.ts";

const log = logger("readers");

export interface AcquireOptions extends SourceOptions {
  /** How an `http(s)://` URL is read; ignored for other schemes. Default "stream". */
  kind?: "stream" | "snapshot";
}

export interface ReaderLease {
  /** FrameCache key of the shared reader (redacted normalized URL; unique per reader). */
  readonly camera: string;
  /** Redacted spec, safe for logs and reports. */
  readonly url: string;
  status(): SourceStatus;
  /** Drops this consumer's reference; the last one stops the reader. Idempotent. */
  release(): Promise<void>;
}

export interface ReaderInfo {
  camera: string;
  url: string;
  refs: number;
  status: SourceStatus;
}

interface Reader {
  key: string;
  camera: string;
  url: string;
  refs: number;
  source: Source;
}

const defaultPorts: Record<string, string> = {
  "rtsp:": "554",
  "rtsps:": "322",
  "http:": "80",
  "https:": "443",
};

/**
 * Canonical form of a camera URL so equal cameras share a reader: scheme and host lower case,
 * default port dropped, an `ffmpeg:` prefix kept. Credentials are kept (the reader needs them).
 * Non-URL specs (file paths, `testpattern:`) are only trimmed.
 */
export function normalizeSourceUrl(spec: string): string {
  const trimmed = spec.trim();
  const prefix = /^ffmpeg:(?=[a-z][a-z0-9+.-]*:\/\/)/i.exec(trimmed)?.[0] ?? "";
  const rest = trimmed.slice(prefix.length);
  const m = /^([a-z][a-z0-9+.-]*:)\/\/(?:([^/@?#]*)@)?([^/?#]*)(.*)$/i.exec(rest);
  if (!m) return trimmed;
  const scheme = m[1].toLowerCase();
  const userinfo = m[2] === undefined ? "" : `${m[2]}@`;
  let host = m[3].toLowerCase();
  const port = /:(\d+)$/.exec(host)?.[1];
  if (port && defaultPorts[scheme] === port) host = host.slice(0, -port.length - 1);
  const path = m[4] === "" ? "/" : m[4];
  return `${prefix.toLowerCase()}${scheme}//${userinfo}${host}${path}`;
}

/** The spec handed to the source registry for a consumer's URL. */
export function readerSpec(url: string, kind: AcquireOptions["kind"] = "stream"): string {
  const normalized = normalizeSourceUrl(url);
  if (kind === "stream" && /^https?:\/\//i.test(normalized)) return `ffmpeg:${normalized}`;
  return normalized;
}

export class SharedReaders {
  #readers = new Map<string, Reader>();
  #cameras = new Set<string>();

  constructor(readonly cache: FrameCache, readonly defaults: SourceOptions = {}) {}

  acquire(url: string, opts: AcquireOptions = {}): ReaderLease {
    const { kind, ...sourceOpts } = opts;
    const spec = readerSpec(url, kind);
    const options = { ...this.defaults, ...sourceOpts };
    const key = kind === "snapshot" ? `${spec}|${options.intervalMs ?? ""}` : spec;
    let reader = this.#readers.get(key);
    if (!reader) {
      const camera = this.#uniqueCamera(redactUrl(spec));
      const source = createSource(camera, spec, this.cache, options);
      reader = { key, camera, url: redactUrl(spec), refs: 0, source };
      this.#readers.set(key, reader);
      this.#cameras.add(camera);
      source.start();
      log.info("reader started", { camera });
    }
    reader.refs++;
    const held = reader;
    let released = false;
    return {
      camera: held.camera,
      url: held.url,
      status: () => held.source.status(),
      release: async () => {
        if (released) return;
        released = true;
        held.refs--;
        if (held.refs > 0) return;
        await this.#stop(held);
      },
    };
  }

  /** References held on the reader for this URL (0 when none runs). */
  refs(url: string, kind: AcquireOptions["kind"] = "stream", intervalMs?: number): number {
    const spec = readerSpec(url, kind);
    const key = kind === "snapshot"
      ? `${spec}|${intervalMs ?? this.defaults.intervalMs ?? ""}`
      : spec;
    return this.#readers.get(key)?.refs ?? 0;
  }

  list(): ReaderInfo[] {
    return [...this.#readers.values()].map((r) => ({
      camera: r.camera,
      url: r.url,
      refs: r.refs,
      status: r.source.status(),
    }));
  }

  get size(): number {
    return this.#readers.size;
  }

  /** Stops every reader regardless of references (shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#readers.values()].map((r) => this.#stop(r)));
  }

  async #stop(reader: Reader): Promise<void> {
    if (this.#readers.get(reader.key) !== reader) return;
    this.#readers.delete(reader.key);
    await reader.source.stop();
    this.#cameras.delete(reader.camera);
    this.cache.remove(reader.camera);
    log.info("reader stopped", { camera: reader.camera });
  }

  #uniqueCamera(base: string): string {
    if (!this.#cameras.has(base)) return base;
    for (let n = 2;; n++) {
      const candidate = `${base}#${n}`;
      if (!this.#cameras.has(candidate)) return candidate;
    }
  }
}
