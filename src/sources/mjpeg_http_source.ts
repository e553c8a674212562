import { DEFAULT_MAX_FRAME_BYTES } from "../core/mod.ts";
import type { FrameCache } from "../core/mod.ts";
import { AuthFetcher, statusLine } from "./http_auth.ts";
import { parseHttpSpec, TimeoutError } from "./http_snapshot_source.ts";
import { pumpJpegStream } from "./jpeg_stream.ts";
import { ReconnectingSource } from "./reconnect_loop.ts";
import type { Source, SourceOptions } from "./source.ts";

/**
 * `mjpeg+http(s)://[user:pass@]host/path` — a `multipart/x-mixed-replace` stream of JPEGs, as
 * IP cameras and `detector serve`'s own `/stream.mjpg` send it. Frames are split out of the body
 * by their JPEG markers, so part headers and boundaries need no trust. No byte for `timeoutMs`
 * aborts the request and reconnects.
 */
class MjpegHttpSource extends ReconnectingSource {
  readonly #fetcher: AuthFetcher;

  constructor(camera: string, spec: string, cache: FrameCache, opts: SourceOptions, url: URL) {
    super(camera, spec, cache, opts);
    this.#fetcher = new AuthFetcher(url, {
      userAgent: opts.userAgent,
      accept: "multipart/x-mixed-replace, image/jpeg;q=0.5",
    });
  }

  protected async connect(signal: AbortSignal): Promise<void> {
    const url = this.#fetcher.safeUrl;
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const request = new AbortController();
    const end = () => request.abort();
    signal.addEventListener("abort", end, { once: true });
    const timer = setTimeout(
      () => request.abort(new TimeoutError(`no answer from ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      let res: Response;
      try {
        res = await this.#fetcher.fetch(request.signal);
      } catch (err) {
        if (request.signal.reason instanceof TimeoutError) throw request.signal.reason;
        if (err instanceof TypeError) throw new Error(`request to ${url} failed: ${err.message}`);
        throw err;
      } finally {
        clearTimeout(timer);
      }
      if (!res.ok) {
        await res.body?.cancel();
        const note = res.status === 401 ? ` (${this.#fetcher.authNote})` : "";
        throw new Error(`${statusLine(res)} from ${url}${note}`);
      }
      const type = res.headers.get("content-type") ?? "";
      if (!/^multipart\//i.test(type.trim()) || !res.body) {
        await res.body?.cancel();
        throw new Error(
          `${url} answered ${statusLine(res)} with content-type "${type}", ` +
            "not multipart/x-mixed-replace",
        );
      }
      this.setState("connecting", undefined, { auth: this.#fetcher.scheme });
      await pumpJpegStream(res.body, {
        camera: this.camera,
        maxFrameBytes: this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
        stallMs: timeoutMs,
        framing: "multipart",
        frame: (f) => this.emit(f.jpeg, f.width, f.height),
        reject: (reason) => this.reject(reason),
        metrics: this.opts.metrics,
        progress: (detail) => this.setState(this.status().state, undefined, detail),
      });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", end);
      request.abort();
    }
  }
}

export function createMjpegHttpSource(
  camera: string,
  spec: string,
  cache: FrameCache,
  opts: SourceOptions,
): Source {
  return new MjpegHttpSource(camera, spec, cache, opts, parseHttpSpec(spec, "mjpeg+"));
}
