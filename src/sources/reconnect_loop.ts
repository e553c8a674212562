import type { FrameCache } from "../core/frame_cache.ts";
import type { SourceState, SourceStatus } from "../core/source_status.ts";
import { Backoff, type BackoffOptions, sleep } from "../core/backoff.ts";
import { errorMessage, type Logger, logger } from "../core/log.ts";
import { metrics } from "../core/metrics.ts";
import { redactText, redactUrl } from "../core/redact.ts";
import type { Source, SourceOptions } from "./source.ts";

/**
 * Base for sources that hold a connection: `connect` runs one session until it ends or fails;
 * this class restarts it with backoff and publishes the state to the cache.
 */
export abstract class ReconnectingSource implements Source {
  protected readonly log: Logger;
  protected readonly backoff: Backoff;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #status: SourceStatus;
  #retries = 0;

  constructor(
    readonly camera: string,
    readonly spec: string,
    protected readonly cache: FrameCache,
    protected readonly opts: SourceOptions,
    backoff: BackoffOptions = {},
  ) {
    this.log = logger(`source ${camera}`);
    this.backoff = new Backoff({ initialMs: opts.reconnectMs, ...backoff });
    this.#status = { state: "idle", since: Date.now(), spec: redactUrl(spec) };
    cache.ensure(camera);
    cache.setSourceStatus(camera, this.#status);
  }

  /** One connection session. Resolve when the peer ends cleanly, throw on failure. */
  protected abstract connect(signal: AbortSignal): Promise<void>;

  protected get signal(): AbortSignal {
    return this.#abort.signal;
  }

  status(): SourceStatus {
    return this.#status;
  }

  protected setState(state: SourceState, lastError?: string, detail?: Record<string, unknown>) {
    const prev = this.#status;
    this.#status = {
      state,
      since: prev.state === state ? prev.since : Date.now(),
      spec: prev.spec,
      lastError: lastError === undefined ? prev.lastError : redactText(lastError),
      detail: { ...prev.detail, ...detail },
    };
    this.cache.setSourceStatus(this.camera, this.#status);
  }

  /** Called by subclasses for each complete frame. */
  protected emit(jpeg: Uint8Array, width?: number, height?: number, at?: number): void {
    if (this.#status.state !== "live") this.setState("live");
    this.cache.put(this.camera, jpeg, { width, height, at });
  }

  /** Counts and logs a rejected frame without ending the session. */
  protected reject(reason: string): void {
    metrics.inc("detector_frames_rejected_total", "Frames refused at ingest, by reason", {
      camera: this.camera,
      reason: reason.replace(/[0-9]+/g, "N").slice(0, 60),
    });
    this.log.warn("frame rejected", { reason });
  }

  start(): void {
    if (this.#running) return;
    this.#running = this.#loop();
  }

  async #loop(): Promise<void> {
    const maxRetries = this.opts.maxRetries ?? -1;
    while (!this.signal.aborted) {
      this.setState("connecting");
      const began = Date.now();
      let error: string;
      try {
        await this.connect(this.signal);
        if (this.signal.aborted) break;
        error = "connection ended";
      } catch (err) {
        if (this.signal.aborted) break;
        error = errorMessage(err);
      }
      const upMs = Date.now() - began;
      if (upMs >= this.backoff.resetAfterMs) this.#retries = 0;
      this.#retries++;
      metrics.inc(
        "detector_source_reconnects_total",
        "Source sessions that ended and were retried",
        {
          camera: this.camera,
        },
      );
      if (maxRetries >= 0 && this.#retries > maxRetries) {
        this.log.error("giving up after retries", {
          retries: maxRetries,
          error: redactText(error),
        });
        this.setState("stopped", `gave up after ${maxRetries} retries: ${error}`);
        return;
      }
      const delay = this.backoff.next(upMs);
      this.log.warn("source down, retrying", { error: redactText(error), retryInMs: delay });
      this.setState("backoff", error, { retryInMs: delay, retries: this.#retries });
      await sleep(delay, this.signal);
    }
    this.setState("stopped");
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
    this.setState("stopped");
  }
}
