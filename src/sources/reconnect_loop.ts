import type { FrameCache, FrameSize } from "../core/mod.ts";
import type { SourceState, SourceStatus } from "../core/mod.ts";
import { Backoff, type BackoffOptions, sleep } from "../core/mod.ts";
import { errorMessage, type Logger, logger } from "../core/mod.ts";
import { redactText, redactUrl } from "../core/mod.ts";
import type { Source, SourceOptions } from "./source.ts";

/** Why a session ended; `code` is stable (metrics label, `detail.reason`), `message` is for people. */
export class SourceFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "SourceFailure";
  }
}

/** What a session resolves with: `ended` stops the source for good (a file played to its end). */
export type SessionEnd = void | "ended";

/** The loop's own phases, for subclasses that add their own detail to each. */
export type LoopPhase = "connecting" | "backoff" | "stopped" | "ended";

export interface ReconnectOptions extends BackoffOptions {
  /** Logger name; default `source <camera>`. */
  logName?: string;
}

const NO_JPEG = new Uint8Array(0);

/**
 * Base for sources that hold a connection: `connect` runs one session until it ends or fails;
 * this class restarts it with backoff and publishes the state to the cache.
 *
 * One rule for every kind: a session that delivered a frame resets the retry count (so
 * `maxRetries` counts failed sessions in a row), and one that delivered frames for
 * `resetAfterMs` also resets the backoff delay. `lastError` moves to `previousError` when frames
 * flow again, and the recovery is logged once at info.
 */
export abstract class ReconnectingSource implements Source {
  protected readonly log: Logger;
  protected readonly backoff: Backoff;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #status: SourceStatus;
  #retries = 0;
  #restarts = 0;
  #sessionFirstFrameAt: number | undefined;
  #downSince: number | undefined;
  #retriesWhileDown = 0;
  #resolveDone!: () => void;
  /** Resolves when the loop ends: stopped, gave up, or the input ended. */
  readonly done: Promise<void> = new Promise((r) => this.#resolveDone = r);

  constructor(
    readonly camera: string,
    readonly spec: string,
    protected readonly cache: FrameCache,
    protected readonly opts: SourceOptions,
    options: ReconnectOptions = {},
  ) {
    const { logName, ...backoff } = options;
    this.log = logger(logName ?? `source ${camera}`);
    this.backoff = new Backoff({ initialMs: opts.reconnectMs, ...backoff });
    this.#status = { state: "idle", since: Date.now(), spec: redactUrl(spec), detail: {} };
    cache.ensure(camera);
    cache.setSourceStatus(camera, this.#status);
  }

  /** One connection session. Resolve when the peer ends cleanly, throw on failure. */
  protected abstract connect(signal: AbortSignal): Promise<SessionEnd>;

  /** Extra detail published with each phase of the loop. */
  protected loopDetail(_phase: LoopPhase): Record<string, unknown> {
    return {};
  }

  /** Extra fields for the warning logged when a session fails. */
  protected failureLogFields(): Record<string, unknown> {
    return {};
  }

  /** Removes secrets from text that is shown or logged. */
  protected redact(text: string): string {
    return redactText(text);
  }

  protected get signal(): AbortSignal {
    return this.#abort.signal;
  }

  status(): SourceStatus {
    return this.#status;
  }

  protected setState(state: SourceState, lastError?: string, detail?: Record<string, unknown>) {
    const prev = this.#status;
    const now = Date.now();
    let error = lastError === undefined ? prev.lastError : this.redact(lastError);
    let previousError = prev.previousError;
    if (state === "live" && prev.state !== "live" && lastError === undefined && error) {
      previousError = { message: error, at: prev.lastErrorAt ?? now };
      error = undefined;
    }
    this.#status = {
      state,
      since: prev.state === state ? prev.since : now,
      spec: prev.spec,
      lastError: error,
      lastErrorAt: error === undefined
        ? undefined
        : lastError === undefined
        ? prev.lastErrorAt
        : now,
      previousError,
      detail: { ...prev.detail, ...detail },
    };
    this.cache.setSourceStatus(this.camera, this.#status);
  }

  /** Called by subclasses for each complete frame. */
  protected emit(jpeg: Uint8Array, width?: number, height?: number, at?: number): void {
    this.frameArrived();
    this.cache.put(this.camera, jpeg, { width, height, at });
  }

  /** Called by subclasses for each complete raw frame (RGB24, width × height × 3 bytes). */
  protected emitRgb(
    rgb: Uint8Array,
    width: number,
    height: number,
    at?: number,
    native?: FrameSize,
  ): void {
    this.frameArrived();
    this.cache.put(this.camera, NO_JPEG, { width, height, at, rgb, native });
  }

  /** Marks the session healthy and the source live; `emit` calls it. */
  protected frameArrived(detail?: Record<string, unknown>): void {
    this.#sessionFirstFrameAt ??= Date.now();
    if (this.#downSince !== undefined) {
      this.log.info(
        `live again after ${Math.round((Date.now() - this.#downSince) / 1000)} s, ` +
          `${this.#retriesWhileDown} ${this.#retriesWhileDown === 1 ? "retry" : "retries"}`,
      );
      this.#downSince = undefined;
      this.#retriesWhileDown = 0;
    }
    if (this.#status.state !== "live" || detail) {
      this.setState("live", undefined, { reason: null, ...detail });
    }
  }

  /** Counts and logs a rejected frame without ending the session. */
  protected reject(reason: string): void {
    this.count(reason);
    this.log.warn("frame rejected", { reason });
  }

  /** Counts a rejected frame (`detector_frames_rejected_total`) without logging it. */
  protected count(reason: string): void {
    this.opts.metrics?.inc(
      "detector_frames_rejected_total",
      "Frames refused at ingest, by reason",
      {
        camera: this.camera,
        reason: reason.replace(/[0-9]+/g, "N").slice(0, 60),
      },
    );
  }

  start(): void {
    if (this.#running) return;
    this.#running = this.#loop().finally(() => this.#resolveDone());
  }

  async #loop(): Promise<void> {
    const maxRetries = this.opts.maxRetries ?? -1;
    while (!this.signal.aborted) {
      this.setState("connecting", undefined, this.loopDetail("connecting"));
      this.#sessionFirstFrameAt = undefined;
      let failure: SourceFailure;
      try {
        const end = await this.connect(this.signal);
        if (this.signal.aborted) break;
        if (end === "ended") {
          this.log.info("input ended");
          this.setState("stopped", undefined, this.loopDetail("ended"));
          return;
        }
        failure = new SourceFailure("ended", "connection ended");
      } catch (err) {
        if (this.signal.aborted) break;
        failure = err instanceof SourceFailure
          ? err
          : new SourceFailure("error", errorMessage(err));
      }
      const healthyMs = this.#sessionFirstFrameAt ? Date.now() - this.#sessionFirstFrameAt : 0;
      if (healthyMs > 0) this.#retries = 0;
      this.#retries++;
      this.#restarts++;
      this.#downSince ??= Date.now();
      this.opts.metrics?.inc(
        "detector_source_reconnects_total",
        "Source sessions that ended and were retried, by reason",
        { camera: this.camera, reason: failure.code },
      );
      if (maxRetries >= 0 && this.#retries > maxRetries) {
        const msg = `gave up after ${maxRetries} retries: ${failure.message}`;
        this.log.error("giving up", {
          retries: maxRetries,
          reason: failure.code,
          error: this.redact(failure.message),
        });
        this.setState("stopped", msg, { reason: failure.code, ...this.loopDetail("stopped") });
        return;
      }
      this.#retriesWhileDown++;
      const delay = this.backoff.next(healthyMs);
      this.log.warn("source down, retrying", {
        reason: failure.code,
        error: this.redact(failure.message),
        retryInMs: delay,
        ...this.failureLogFields(),
      });
      this.setState("backoff", failure.message, {
        reason: failure.code,
        retryInMs: delay,
        retries: this.#retries,
        restarts: this.#restarts,
        ...this.loopDetail("backoff"),
      });
      await sleep(delay, this.signal);
    }
    this.setState("stopped", undefined, this.loopDetail("stopped"));
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
    if (this.#status.state !== "stopped") {
      this.setState("stopped", undefined, this.loopDetail("stopped"));
    }
  }
}
