import { Backoff, sleep } from "../core/mod.ts";
import type { Frame } from "../core/mod.ts";
import { checkJpeg } from "../core/mod.ts";
import { errorMessage, type Logger, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { type CameraInfo, type ConnectClient, ConnectError, infoBody } from "./connect_client.ts";
import { ExitCode, type ExitCodeValue } from "./exit_codes.ts";
import { type FrameSource, SourceError } from "./frame_source.ts";
import { shrinkJpeg } from "./shrink.ts";

export interface UploaderOptions {
  /** Absent in a dry run: nothing is sent. */
  client?: ConnectClient;
  /**
   * Interval mode, after refused credentials: reads token and fingerprint again (a fixed token
   * file is picked up without a restart). Resolves with the client to use from now on.
   */
  reloadClient?: () => Promise<ConnectClient>;
  frames: FrameSource;
  /** Camera name sent in `/c/info` and used as the metrics label. */
  name: string;
  /** Counts uploads, bytes and re-encoded frames. */
  metrics: Metrics;
  intervalMs: number;
  /** A frame older than this is not uploaded. */
  maxAgeMs: number;
  /** A larger JPEG is re-encoded smaller first. */
  maxBytes: number;
  /** One-shot mode: extra attempts after a server/network failure. */
  retries: number;
  /** Interval mode: first wait after 401/403 (doubles up to 6×). */
  authRetryMs: number;
  /** Interval mode: ceiling of the backoff after server/network failures. */
  maxBackoffMs: number;
}

export type UploadResult =
  | {
    outcome: "uploaded" | "dry-run";
    bytes: number;
    width: number;
    height: number;
    ageMs: number;
    /** Original size when the frame was re-encoded smaller. */
    shrunkFrom?: number;
  }
  | { outcome: "stale"; ageMs: number; error: string }
  | { outcome: "source"; error: string }
  | { outcome: "auth" | "server"; error: string; hint?: string; status?: number };

export function exitCodeFor(r: UploadResult): ExitCodeValue {
  switch (r.outcome) {
    case "uploaded":
    case "dry-run":
      return ExitCode.ok;
    case "stale":
    case "source":
      return ExitCode.source;
    case "auth":
      return ExitCode.auth;
    case "server":
      return ExitCode.server;
  }
}

const UPLOADS = "detector_prusa_uploads_total";
const UPLOADS_HELP = "Prusa Connect snapshot attempts by result";

/**
 * Takes frames from a FrameSource and puts them to Prusa Connect: one attempt (`once`, for cron)
 * or a loop (`run`) that never ends on errors: server failures back off exponentially, refused
 * credentials back off long, stale or missing frames wait for the next tick.
 */
export class PrusaUploader {
  readonly log: Logger;
  /** `WxH` last accepted by `/c/info`; a different resolution sends the info again. */
  #infoSentFor: string | undefined;
  #client: ConnectClient | undefined;
  #shrinkLogged = false;
  /** The last reported outcome and when it was logged loudly, so a long outage is not a flood. */
  #last: { outcome: string; loudAt: number } = { outcome: "", loudAt: 0 };

  constructor(readonly opts: UploaderOptions) {
    this.log = logger(`prusa ${opts.name}`);
    this.#client = opts.client;
  }

  /** One upload attempt; never throws except on abort. */
  async attempt(signal: AbortSignal): Promise<UploadResult> {
    const result = await this.#attempt(signal);
    if (signal.aborted) return result;
    this.opts.metrics.inc(UPLOADS, UPLOADS_HELP, {
      camera: this.opts.name,
      result: result.outcome,
    });
    if (result.outcome === "uploaded") {
      this.opts.metrics.set(
        "detector_prusa_last_upload_timestamp_seconds",
        "Time of the last accepted Prusa Connect snapshot",
        Math.floor(Date.now() / 1000),
        { camera: this.opts.name },
      );
      this.opts.metrics.inc(
        "detector_prusa_upload_bytes_total",
        "JPEG bytes accepted by Prusa Connect",
        {
          camera: this.opts.name,
        },
        result.bytes,
      );
    }
    return result;
  }

  async #attempt(signal: AbortSignal): Promise<UploadResult> {
    let frame: Frame;
    try {
      frame = await this.opts.frames.frame(signal);
    } catch (err) {
      if (signal.aborted) throw err;
      return { outcome: "source", error: errorMessage(err) };
    }
    const ageMs = Math.max(0, Date.now() - frame.at);
    if (ageMs > this.opts.maxAgeMs) {
      return {
        outcome: "stale",
        ageMs,
        error: `newest frame from ${this.opts.frames.description} is ${
          (ageMs / 1000).toFixed(1)
        } s old, older than --max-age ${this.opts.maxAgeMs / 1000} s: not uploaded`,
      };
    }
    const check = checkJpeg(frame.jpeg);
    if (!check.ok) {
      return { outcome: "source", error: `frame is not a complete JPEG: ${check.reason}` };
    }
    let jpeg = frame.jpeg;
    let { width, height } = check.info;
    let shrunkFrom: number | undefined;
    if (jpeg.byteLength > this.opts.maxBytes) {
      try {
        const shrunk = await shrinkJpeg(jpeg, this.opts.maxBytes);
        shrunkFrom = jpeg.byteLength;
        ({ jpeg, width, height } = shrunk);
        this.opts.metrics.inc(
          "detector_prusa_shrunk_total",
          "Frames re-encoded to fit --max-bytes",
          {
            camera: this.opts.name,
          },
        );
        const log = this.#shrinkLogged ? this.log.debug : this.log.info;
        this.#shrinkLogged = true;
        log("frame re-encoded to fit --max-bytes", {
          from: shrunkFrom,
          to: jpeg.byteLength,
          size: `${width}x${height}`,
          quality: shrunk.quality,
        });
      } catch (err) {
        return { outcome: "source", error: errorMessage(err) };
      }
    }
    const info: CameraInfo = { name: this.opts.name, width, height };
    const client = this.#client;
    if (!client) {
      this.log.debug("dry run: would upload", {
        info: JSON.stringify(infoBody(info)),
        bytes: jpeg.byteLength,
      });
      return { outcome: "dry-run", bytes: jpeg.byteLength, width, height, ageMs, shrunkFrom };
    }
    const resolution = `${width}x${height}`;
    try {
      if (this.#infoSentFor !== resolution) {
        await this.#sendInfo(client, info, signal);
        this.#infoSentFor = resolution;
      }
    } catch (err) {
      if (signal.aborted) throw err;
      // Refused credentials or an unreachable server fail the snapshot too: report it once.
      if (err instanceof ConnectError && ["auth", "network", "timeout"].includes(err.kind)) {
        return this.#failure(err);
      }
      this.log.warn("camera info not accepted; snapshot sent anyway, info retried next time", {
        error: errorMessage(err),
      });
    }
    try {
      await client.putSnapshot(jpeg, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      return this.#failure(err);
    }
    return { outcome: "uploaded", bytes: jpeg.byteLength, width, height, ageMs, shrunkFrom };
  }

  async #sendInfo(client: ConnectClient, info: CameraInfo, signal: AbortSignal) {
    await client.putInfo(info, signal);
    this.log.info("camera info sent", { resolution: `${info.width}x${info.height}` });
  }

  #failure(err: unknown): UploadResult {
    if (err instanceof ConnectError) {
      return {
        outcome: err.kind === "auth" ? "auth" : "server",
        error: err.message,
        hint: err.hint,
        status: err.status,
      };
    }
    if (err instanceof SourceError) return { outcome: "source", error: err.message };
    return { outcome: "server", error: errorMessage(err) };
  }

  /** `final`: the outcome of a one-shot run, always logged at its level (the last line). */
  #report(r: UploadResult, retryInMs?: number, final = false): void {
    const retry = retryInMs === undefined ? {} : { retryInS: Math.round(retryInMs / 100) / 10 };
    // The same outcome again is logged at debug level; loudly again after a minute.
    const now = Date.now();
    const repeated = !final && r.outcome === this.#last.outcome &&
      (r.outcome === "uploaded" || now - this.#last.loudAt < 60_000);
    if (!repeated) this.#last = { outcome: r.outcome, loudAt: now };
    const log = repeated
      ? { ...this.log, info: this.log.debug, warn: this.log.debug, error: this.log.debug }
      : this.log;
    switch (r.outcome) {
      case "uploaded":
        log.info("snapshot uploaded", {
          bytes: r.bytes,
          resolution: `${r.width}x${r.height}`,
          frameAgeMs: r.ageMs,
          ...(r.shrunkFrom ? { originalBytes: r.shrunkFrom } : {}),
        });
        break;
      case "dry-run":
        break;
      case "stale":
        log.warn(r.error, retry);
        break;
      case "source":
        log.error("no frame to upload", { error: r.error, ...retry });
        break;
      case "auth":
        log.error("Prusa Connect refused the camera credentials", {
          error: r.error,
          todo: r.hint,
          ...retry,
        });
        break;
      case "server":
        log.error("upload failed", { error: r.error, todo: r.hint, ...retry });
        break;
    }
  }

  /** Cron mode: one snapshot, retried a few times on server/network failures only. */
  async once(signal: AbortSignal): Promise<UploadResult> {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 8000 });
    let result = await this.attempt(signal);
    for (let retry = 0; retry < this.opts.retries && result.outcome === "server"; retry++) {
      const delay = backoff.next();
      this.#report(result, delay);
      await sleep(delay, signal);
      if (signal.aborted) return result;
      result = await this.attempt(signal);
    }
    this.#report(result, undefined, true);
    return result;
  }

  /** Interval mode: uploads every `intervalMs` until the signal aborts; never gives up. */
  async run(signal: AbortSignal): Promise<void> {
    const serverBackoff = new Backoff({
      initialMs: Math.min(this.opts.intervalMs, 5000),
      maxMs: Math.max(this.opts.maxBackoffMs, this.opts.intervalMs),
    });
    const authBackoff = new Backoff({
      initialMs: this.opts.authRetryMs,
      maxMs: this.opts.authRetryMs * 6,
    });
    while (!signal.aborted) {
      const began = Date.now();
      let result: UploadResult;
      try {
        result = await this.attempt(signal);
      } catch (err) {
        if (signal.aborted) break;
        result = { outcome: "server", error: errorMessage(err) };
      }
      const untilTick = Math.max(0, this.opts.intervalMs - (Date.now() - began));
      let wait = untilTick;
      if (result.outcome === "auth") {
        serverBackoff.reset();
        wait = authBackoff.next();
      } else if (result.outcome === "server") {
        wait = serverBackoff.next();
      } else if (result.outcome === "uploaded") {
        serverBackoff.reset();
        authBackoff.reset();
      }
      this.#report(result, result.outcome === "uploaded" ? undefined : wait);
      await sleep(wait, signal);
      if (result.outcome === "auth" && this.opts.reloadClient && !signal.aborted) {
        try {
          const fresh = await this.opts.reloadClient();
          if (!this.#client || !fresh.sameCredentials(this.#client)) {
            this.log.info("credentials changed; sending camera info again");
            this.#infoSentFor = undefined;
          }
          this.#client = fresh;
        } catch (err) {
          this.log.error("cannot read the credentials again; keeping the old ones", {
            error: errorMessage(err),
          });
        }
      }
    }
  }
}
