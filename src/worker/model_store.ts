/**
 * Where `.mpta` archives named by `modelUrl` come from: http(s) downloads with an idle timeout, a
 * size limit and retries, written atomically to `<dir>/<modelId>/<sha256>.mpta` and remembered per
 * `modelId` + URL so a restart does not download again; local paths are used as they are.
 */
import { createHash } from "node:crypto";
import { Backoff, sleep } from "../core/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";

export interface ModelStoreOptions {
  /** Root folder of downloaded archives. */
  dir: string;
  /** A download that receives nothing for this long fails. */
  timeoutMs?: number;
  /** Largest archive accepted, in bytes. */
  maxBytes?: number;
  /** Attempts per resolve for transient failures (network errors, 5xx). */
  attempts?: number;
  /** First delay between attempts (doubles each time). */
  retryDelayMs?: number;
  /** Counts downloads and failed fetches. */
  metrics: Metrics;
}

export class ModelFetchError extends Error {
  override name = "ModelFetchError";
  constructor(message: string, readonly transient: boolean) {
    super(message);
  }
}

interface IndexFile {
  /** sha256 of the URL (so passwords in URLs never reach the disk) → sha256 of the archive. */
  urls: Record<string, string>;
}

const log = logger("models");
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function isRemote(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

export class ModelStore {
  readonly dir: string;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly attempts: number;
  readonly retryDelayMs: number;
  #inflight = new Map<string, Promise<string>>();
  readonly #metrics: Metrics;

  constructor(opts: ModelStoreOptions) {
    this.#metrics = opts.metrics;
    this.dir = opts.dir;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.maxBytes = opts.maxBytes ?? 512 * 1024 * 1024;
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
  }

  /** The local path of the archive for (`modelUrl`, `modelId`), downloading it when needed. */
  resolve(modelUrl: string, modelId: number, signal?: AbortSignal): Promise<string> {
    if (!isRemote(modelUrl)) return this.#local(modelUrl);
    const key = `${modelId}|${modelUrl}`;
    let p = this.#inflight.get(key);
    if (!p) {
      p = this.#cachedOrDownload(modelUrl, modelId, signal).finally(() =>
        this.#inflight.delete(key)
      );
      this.#inflight.set(key, p);
    }
    return p;
  }

  async #local(path: string): Promise<string> {
    const file = path.startsWith("file://") ? decodeURIComponent(new URL(path).pathname) : path;
    try {
      const st = await Deno.stat(file);
      if (!st.isFile) throw new ModelFetchError(`modelUrl "${path}" is not a file`, false);
      return file;
    } catch (err) {
      if (err instanceof ModelFetchError) throw err;
      this.#fail("local_missing");
      throw new ModelFetchError(`modelUrl "${path}": ${errorMessage(err)}`, false);
    }
  }

  #modelDir(modelId: number): string {
    return `${this.dir}/${modelId}`;
  }

  async #readIndex(modelId: number): Promise<IndexFile> {
    try {
      const parsed = JSON.parse(await Deno.readTextFile(`${this.#modelDir(modelId)}/index.json`));
      if (parsed && typeof parsed.urls === "object") return parsed as IndexFile;
    } catch {
      // missing or unreadable: start afresh
    }
    return { urls: {} };
  }

  async #writeIndex(modelId: number, index: IndexFile): Promise<void> {
    const path = `${this.#modelDir(modelId)}/index.json`;
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(index));
    await Deno.rename(tmp, path);
  }

  async #cachedOrDownload(url: string, modelId: number, signal?: AbortSignal): Promise<string> {
    const index = await this.#readIndex(modelId);
    const known = index.urls[sha256Hex(url)];
    if (known) {
      const path = `${this.#modelDir(modelId)}/${known}.mpta`;
      try {
        await Deno.stat(path);
        log.debug("model from cache", { modelId, path });
        return path;
      } catch {
        // deleted behind our back: download again
      }
    }
    const backoff = new Backoff({ initialMs: this.retryDelayMs, maxMs: this.retryDelayMs * 8 });
    let lastError: ModelFetchError | undefined;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (signal?.aborted) throw new ModelFetchError("aborted", true);
      try {
        const path = await this.#download(url, modelId, signal);
        const fresh = await this.#readIndex(modelId);
        fresh.urls[sha256Hex(url)] = path.slice(path.lastIndexOf("/") + 1, -".mpta".length);
        await this.#writeIndex(modelId, fresh);
        return path;
      } catch (err) {
        lastError = err instanceof ModelFetchError
          ? err
          : new ModelFetchError(errorMessage(err), true);
        if (!lastError.transient || attempt === this.attempts) break;
        const delay = backoff.next();
        log.warn("model download failed, retrying", {
          url: redactUrl(url),
          attempt,
          retryInMs: delay,
          error: lastError.message,
        });
        await sleep(delay, signal);
      }
    }
    throw lastError!;
  }

  async #download(url: string, modelId: number, signal?: AbortSignal): Promise<string> {
    const shown = redactUrl(url);
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    let idle = setTimeout(expire, this.timeoutMs);
    function expire() {
      timedOut = true;
      abort.abort();
    }
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(expire, this.timeoutMs);
    };
    const dir = this.#modelDir(modelId);
    await Deno.mkdir(dir, { recursive: true });
    const tmp = `${dir}/.download-${crypto.randomUUID()}.tmp`;
    let file: Deno.FsFile | undefined;
    try {
      let res: Response;
      try {
        res = await fetch(url, { signal: abort.signal, redirect: "follow" });
      } catch (err) {
        this.#fail(timedOut ? "timeout" : "network");
        throw new ModelFetchError(
          timedOut
            ? `modelUrl ${shown}: no answer within ${this.timeoutMs} ms`
            : `modelUrl ${shown}: ${errorMessage(err)}`,
          true,
        );
      }
      touch();
      if (!res.ok) {
        await res.body?.cancel();
        this.#fail(`http_${res.status}`);
        throw new ModelFetchError(
          `modelUrl ${shown}: HTTP ${res.status} ${res.statusText}`.trim(),
          res.status >= 500 || res.status === 429,
        );
      }
      const declared = Number(res.headers.get("content-length") ?? NaN);
      if (Number.isFinite(declared) && declared > this.maxBytes) {
        await res.body?.cancel();
        this.#fail("too_large");
        throw new ModelFetchError(
          `modelUrl ${shown}: ${declared} bytes is larger than the limit of ${this.maxBytes}`,
          false,
        );
      }
      const contentType = res.headers.get("content-type") ?? "";
      const hash = createHash("sha256");
      file = await Deno.open(tmp, { write: true, createNew: true });
      let total = 0;
      let head: Uint8Array | undefined;
      const reader = res.body!.getReader();
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          touch();
          if (!head) {
            head = value.slice(0, 8);
            if (!ZIP_MAGIC.every((b, i) => value[i] === b)) {
              this.#fail("not_zip");
              const looksHtml = /html/i.test(contentType) ||
                /^\s*</.test(new TextDecoder().decode(value.slice(0, 64)));
              throw new ModelFetchError(
                `modelUrl ${shown} did not return an .mpta (ZIP) archive` +
                  (looksHtml ? " but an HTML page" : "") +
                  (contentType ? ` (content-type ${contentType.slice(0, 60)})` : ""),
                false,
              );
            }
          }
          total += value.byteLength;
          if (total > this.maxBytes) {
            this.#fail("too_large");
            throw new ModelFetchError(
              `modelUrl ${shown}: more than the limit of ${this.maxBytes} bytes`,
              false,
            );
          }
          hash.update(value);
          let off = 0;
          while (off < value.byteLength) off += await file.write(value.subarray(off));
        }
      } catch (err) {
        await reader.cancel().catch(() => {});
        if (err instanceof ModelFetchError) throw err;
        this.#fail(timedOut ? "timeout" : "network");
        throw new ModelFetchError(
          timedOut
            ? `modelUrl ${shown}: stalled for ${this.timeoutMs} ms after ${total} bytes`
            : `modelUrl ${shown}: ${errorMessage(err)}`,
          true,
        );
      }
      if (total === 0) {
        this.#fail("empty");
        throw new ModelFetchError(`modelUrl ${shown}: empty response`, true);
      }
      await file.sync().catch(() => {});
      file.close();
      file = undefined;
      const digest = hash.digest("hex");
      const path = `${dir}/${digest}.mpta`;
      await Deno.rename(tmp, path);
      this.#metrics.inc("detector_worker_model_downloads_total", "Model archives downloaded");
      log.info("model downloaded", { modelId, url: shown, bytes: total, sha256: digest });
      return path;
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener("abort", onAbort);
      file?.close();
      await Deno.remove(tmp).catch(() => {});
    }
  }

  #fail(reason: string): void {
    this.#metrics.inc("detector_worker_model_fetch_failures_total", "Model downloads that failed", {
      reason,
    });
  }
}
