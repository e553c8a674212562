import { DEFAULT_MAX_FRAME_BYTES } from "../core/mod.ts";
import { sleep } from "../core/mod.ts";
import type { FrameCache } from "../core/mod.ts";
import { checkJpeg } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";
import { AuthFetcher, statusLine } from "./http_auth.ts";
import { ReconnectingSource } from "./reconnect_loop.ts";
import type { Source, SourceOptions } from "./source.ts";

export class HttpSpecError extends Error {}

/** Parses an http(s):// URL spec; `prefix` (e.g. "mjpeg+") is removed first. */
export function parseHttpSpec(spec: string, prefix = ""): URL {
  const raw = spec.slice(prefix.length);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HttpSpecError(`"${redactUrl(spec)}" is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new HttpSpecError(`"${redactUrl(spec)}" must be ${prefix}http:// or ${prefix}https://`);
  }
  return url;
}

const jpegTypes = ["image/jpeg", "image/jpg", "image/pjpeg"];

/** Content types a JPEG snapshot may come with; absent and octet-stream rely on the body check. */
function jpegContentType(type: string | null): boolean {
  if (!type) return true;
  const base = type.split(";")[0].trim().toLowerCase();
  return jpegTypes.includes(base) || base === "application/octet-stream";
}

export class TimeoutError extends Error {}

/** Reads a body up to `max` bytes; a larger body is an error, not a truncation. */
export async function readBody(res: Response, max: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await res.body?.cancel();
    throw new Error(`${what}: body of ${declared} bytes is larger than ${max}`);
  }
  if (!res.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.length;
    if (total > max) throw new Error(`${what}: body larger than ${max} bytes`);
    parts.push(chunk);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * `http(s)://[user:pass@]host/path` — a camera's still-image URL fetched every `intervalMs`.
 * A failed poll (HTTP error, not a JPEG, no answer within `timeoutMs`) ends the session: the
 * source goes to backoff with the reason and retries.
 */
class HttpSnapshotSource extends ReconnectingSource {
  readonly #fetcher: AuthFetcher;
  #polls = 0;

  constructor(camera: string, spec: string, cache: FrameCache, opts: SourceOptions, url: URL) {
    super(camera, spec, cache, opts);
    this.#fetcher = new AuthFetcher(url, { userAgent: opts.userAgent, accept: "image/jpeg" });
  }

  protected async connect(signal: AbortSignal): Promise<void> {
    const interval = this.opts.intervalMs ?? 1000;
    while (!signal.aborted) {
      const started = performance.now();
      const { jpeg, width, height } = await this.#poll(signal);
      this.emit(jpeg, width, height);
      this.#polls++;
      this.setState("live", undefined, {
        polls: this.#polls,
        bytes: jpeg.length,
        auth: this.#fetcher.scheme,
      });
      await sleep(Math.max(0, interval - (performance.now() - started)), signal);
    }
  }

  async #poll(signal: AbortSignal) {
    const url = this.#fetcher.safeUrl;
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new TimeoutError(`no answer from ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      const res = await this.#fetcher.fetch(AbortSignal.any([signal, timeout.signal]));
      if (!res.ok) {
        await res.body?.cancel();
        const note = res.status === 401 ? ` (${this.#fetcher.authNote})` : "";
        throw new Error(`${statusLine(res)} from ${url}${note}`);
      }
      const type = res.headers.get("content-type");
      if (!jpegContentType(type)) {
        await res.body?.cancel();
        this.reject(`content-type ${type}`);
        throw new Error(`${url} answered content-type "${type}", not image/jpeg`);
      }
      const body = await readBody(res, this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, url);
      const check = checkJpeg(body);
      if (!check.ok) {
        this.reject(`not a valid JPEG: ${check.reason}`);
        throw new Error(
          `${url} answered ${body.length} bytes that are not a JPEG (${check.reason})`,
        );
      }
      return {
        jpeg: body.subarray(0, check.info.length),
        width: check.info.width,
        height: check.info.height,
      };
    } catch (err) {
      if (timeout.signal.aborted && !signal.aborted) throw timeout.signal.reason;
      if (err instanceof TypeError) throw new Error(`request to ${url} failed: ${err.message}`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

export function createHttpSnapshotSource(
  camera: string,
  spec: string,
  cache: FrameCache,
  opts: SourceOptions,
): Source {
  return new HttpSnapshotSource(camera, spec, cache, opts, parseHttpSpec(spec));
}
