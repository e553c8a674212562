/**
 * Video through an ffmpeg child: RTSP(S), HTTP(S) video, local files and anything else ffmpeg
 * opens, written as MJPEG to a pipe and split into frames. One ffmpeg run per session; a run that
 * delivers no frame for `stallTimeoutMs` is killed and restarted; failures are classified from
 * ffmpeg's stderr (401, 404, refused, corrupt…) and retried with capped, jittered backoff until
 * `maxRetries` (-1 = forever). MJPEG input is passed through without re-encoding.
 */
import { Backoff, sleep } from "../core/backoff.ts";
import type { FrameCache } from "../core/frame_cache.ts";
import { DEFAULT_MAX_FRAME_BYTES, JpegSplitter } from "../core/jpeg_splitter.ts";
import { errorMessage, type Logger, logger } from "../core/log.ts";
import { metrics } from "../core/metrics.ts";
import { redactUrl } from "../core/redact.ts";
import type { SourceState, SourceStatus } from "../core/source_status.ts";
import { canCopy, ffmpegArgs, type FfmpegSettings, parseFfmpegSpec } from "./ffmpeg_args.ts";
import { ffmpegPath, spawnTracked, type TrackedChild } from "./ffmpeg_process.ts";
import { classifyFailure, FfmpegLogParser, type StreamInfo } from "./ffmpeg_stderr.ts";
import type { Source, SourceOptions } from "./source.ts";
import { StderrRing, urlSecrets } from "./stderr_ring.ts";

export const DEFAULT_STALL_TIMEOUT_MS = 10_000;
const STDERR_TAIL = 8;

/** Why a run ended; `code` is stable (for metrics and tests), `message` is for people. */
export class FfmpegFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "FfmpegFailure";
  }
}

type RunOutcome = "ended" | "aborted" | "switch-to-copy";
type FfmpegState = "starting" | "running" | "stalled" | "exited" | "backoff" | "stopped" | "ended";

export class FfmpegSource implements Source {
  readonly settings: FfmpegSettings;
  readonly stallTimeoutMs: number;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #secrets: string[];
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #status: SourceStatus;
  #input: StreamInfo | undefined;
  #copy: boolean;
  #child: TrackedChild | undefined;
  #restarts = 0;
  #stalls = 0;
  #retries = 0;
  #stderrTail: string[] = [];
  /** Resolves when the loop ends: stopped, gave up, or a file reached its end. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(
    readonly camera: string,
    readonly spec: string,
    readonly cache: FrameCache,
    readonly opts: SourceOptions = {},
  ) {
    this.settings = parseFfmpegSpec(spec, opts);
    this.stallTimeoutMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#log = logger(`ffmpeg ${camera}`);
    this.#backoff = new Backoff({ initialMs: opts.reconnectMs ?? 500, maxMs: 30_000 });
    this.#secrets = urlSecrets(spec);
    this.#copy = this.settings.codec === "copy";
    this.#status = { state: "idle", since: Date.now(), spec: redactUrl(spec), detail: {} };
    this.done = new Promise((r) => this.#resolveDone = r);
    cache.ensure(camera);
    this.#publish("idle", "starting");
  }

  status(): SourceStatus {
    return this.#status;
  }

  /** Pid of the running ffmpeg, if any. */
  get pid(): number | undefined {
    return this.#child && !this.#child.exited ? this.#child.pid : undefined;
  }

  start(): void {
    if (this.#running) return;
    this.#running = this.#loop().finally(() => this.#resolveDone());
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
    await this.#child?.stop();
    if (this.#status.state !== "stopped") this.#publish("stopped", "stopped");
  }

  #publish(state: SourceState, ffmpeg: FfmpegState, lastError?: string, extra = {}): void {
    const prev = this.#status;
    this.#status = {
      state,
      since: prev.state === state ? prev.since : Date.now(),
      spec: prev.spec,
      lastError: lastError === undefined ? prev.lastError : this.#redact(lastError),
      detail: {
        ...prev.detail,
        ffmpeg,
        pid: this.pid ?? null,
        mode: this.#copy ? "copy" : "mjpeg",
        input: this.#input ?? null,
        inputFps: this.#input?.fps ?? null,
        transport: this.settings.kind === "rtsp" ? this.settings.rtspTransport : undefined,
        restarts: this.#restarts,
        stalls: this.#stalls,
        retries: this.#retries,
        stderr: this.#stderrTail,
        ...extra,
      },
    };
    this.cache.setSourceStatus(this.camera, this.#status);
  }

  #redact(text: string): string {
    let out = redactUrl(text);
    for (const s of this.#secrets) if (s.length >= 3) out = out.split(s).join("***");
    return out;
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    const maxRetries = this.opts.maxRetries ?? -1;
    while (!signal.aborted) {
      this.#publish("connecting", "starting");
      let failure: FfmpegFailure;
      let healthyMs = 0;
      try {
        const { outcome, firstFrameAt } = await this.#session(signal);
        if (outcome === "aborted" || signal.aborted) break;
        if (outcome === "ended") {
          this.#log.info("input ended");
          this.#publish("stopped", "ended", undefined, { ended: true, pid: null });
          return;
        }
        healthyMs = firstFrameAt ? Date.now() - firstFrameAt : 0;
        failure = new FfmpegFailure("ended", "stream ended");
      } catch (err) {
        if (signal.aborted) break;
        failure = err instanceof FfmpegFailure
          ? err
          : new FfmpegFailure("error", errorMessage(err));
        healthyMs = (err as { healthyMs?: number }).healthyMs ?? 0;
      }
      if (healthyMs > 0) this.#retries = 0;
      this.#retries++;
      this.#restarts++;
      metrics.inc("detector_ffmpeg_restarts_total", "ffmpeg runs that ended and were retried", {
        camera: this.camera,
        reason: failure.code,
      });
      if (maxRetries >= 0 && this.#retries > maxRetries) {
        const msg = `gave up after ${maxRetries} retries: ${failure.message}`;
        this.#log.error("giving up", { retries: maxRetries, reason: failure.code, error: msg });
        this.#publish("stopped", "stopped", msg, { reason: failure.code, pid: null });
        return;
      }
      const delay = this.#backoff.next(healthyMs);
      this.#log.warn("ffmpeg run ended, retrying", {
        reason: failure.code,
        error: this.#redact(failure.message),
        retryInMs: delay,
        stderr: this.#stderrTail.slice(-3).join(" | "),
      });
      this.#publish("backoff", "backoff", failure.message, {
        reason: failure.code,
        retryInMs: delay,
        pid: null,
      });
      await sleep(delay, signal);
    }
    this.#publish("stopped", "stopped", undefined, { pid: null });
  }

  /** One session; a detected MJPEG input restarts ffmpeg once in copy mode. */
  async #session(signal: AbortSignal): Promise<{ outcome: RunOutcome; firstFrameAt?: number }> {
    while (true) {
      const r = await this.#run(signal);
      if (r.outcome !== "switch-to-copy") return r;
      this.#copy = true;
      this.#log.info("input is MJPEG: passing frames through without re-encoding");
    }
  }

  async #run(signal: AbortSignal): Promise<{ outcome: RunOutcome; firstFrameAt?: number }> {
    const s = this.settings;
    const ring = new StderrRing(64, 400, this.#secrets);
    const parser = new FfmpegLogParser();
    const splitter = new JpegSplitter(this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    const args = ffmpegArgs(s, this.#copy);
    let child: TrackedChild;
    try {
      child = spawnTracked(ffmpegPath(), args, "ffmpeg");
    } catch (err) {
      throw new FfmpegFailure(
        "no_ffmpeg",
        `ffmpeg could not be started (${ffmpegPath()}): ${errorMessage(err)}; install ffmpeg or ` +
          "point FFMPEG at it",
      );
    }
    this.#child = child;
    this.#stderrTail = [];
    this.#log.debug("ffmpeg started", {
      pid: child.pid,
      args: this.#redact(args.join(" ")),
    });
    // The last failure reason stays beside lastError until frames flow again.
    this.#publish("connecting", "starting", undefined, { pid: child.pid });

    const startedAt = Date.now();
    let firstFrameAt: number | undefined;
    let lastFrameAt = startedAt;
    let stalled = false;
    let switchToCopy = false;
    const mayAutoCopy = s.codec === "auto" && !this.#copy && canCopy(s);

    const onAbort = () => void child.stop();
    signal.addEventListener("abort", onAbort, { once: true });
    const stallCheck = setInterval(() => {
      if (Date.now() - lastFrameAt > this.stallTimeoutMs && !child.exited && !stalled) {
        stalled = true;
        this.#stalls++;
        metrics.inc("detector_ffmpeg_stalls_total", "ffmpeg runs killed for delivering no frame", {
          camera: this.camera,
        });
        this.#log.warn("no frame, killing ffmpeg", {
          pid: child.pid,
          stallTimeoutMs: this.stallTimeoutMs,
          gotFrames: firstFrameAt !== undefined,
        });
        this.#publish(this.#status.state, "stalled");
        void child.stop(1000);
      }
    }, Math.max(50, Math.min(1000, this.stallTimeoutMs / 4)));

    const readStderr = async () => {
      for await (const chunk of child.stderr) {
        for (const line of ring.push(chunk)) this.#onStderrLine(line, parser, child);
        if (mayAutoCopy && !switchToCopy && parser.input?.codec === "mjpeg") {
          switchToCopy = true;
          void child.stop(1000);
        }
      }
      for (const line of ring.flush()) this.#onStderrLine(line, parser, child);
    };
    const readStdout = async () => {
      let rejectedBefore = 0;
      for await (const chunk of child.stdout) {
        const frames = splitter.push(chunk);
        if (splitter.stats.dropped > rejectedBefore) {
          metrics.inc(
            "detector_frames_rejected_total",
            "Frames refused at ingest, by reason",
            { camera: this.camera, reason: "malformed ffmpeg output" },
            splitter.stats.dropped - rejectedBefore,
          );
          rejectedBefore = splitter.stats.dropped;
        }
        if (frames.length === 0 || switchToCopy) continue;
        const now = Date.now();
        lastFrameAt = now;
        if (firstFrameAt === undefined) {
          firstFrameAt = now;
          this.#log.info("first frame", {
            pid: child.pid,
            latencyMs: now - startedAt,
            width: frames[0].width,
            height: frames[0].height,
          });
          this.#publish("live", "running", undefined, {
            firstFrameMs: now - startedAt,
            reason: null,
          });
        }
        for (const f of frames) {
          this.cache.put(this.camera, f.jpeg, { width: f.width, height: f.height, at: now });
        }
      }
    };

    let status: Deno.CommandStatus;
    try {
      [, , status] = await Promise.all([readStdout(), readStderr(), child.status]);
    } finally {
      clearInterval(stallCheck);
      signal.removeEventListener("abort", onAbort);
      await child.stop();
    }
    this.#stderrTail = ring.tail().filter(isNoteworthy).slice(-STDERR_TAIL);
    if (signal.aborted) return { outcome: "aborted" };
    if (switchToCopy) return { outcome: "switch-to-copy" };
    const fail = (code: string, message: string): never => {
      throw Object.assign(new FfmpegFailure(code, message), {
        healthyMs: firstFrameAt ? Date.now() - firstFrameAt : 0,
      });
    };
    if (stalled) {
      fail("stalled", `stalled: no frame for ${this.stallTimeoutMs / 1000} s, ffmpeg restarted`);
    }
    const exit = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
    this.#publish(this.#status.state, "exited", undefined, { exit });
    if (status.success && s.kind === "file" && !s.loop && firstFrameAt !== undefined) {
      return { outcome: "ended", firstFrameAt };
    }
    const reason = classifyFailure(ring.tail());
    if (reason) fail(reason.code, `${reason.message} (ffmpeg: ${reason.line})`);
    if (status.success) {
      if (firstFrameAt === undefined) {
        fail("no_frames", `ffmpeg ended without producing a frame (${exit})`);
      }
      fail("ended", "the stream ended");
    }
    const last = ring.tail(1)[0];
    return fail("exited", `ffmpeg ${exit}${last ? `: ${last}` : ""}`);
  }

  #onStderrLine(line: string, parser: FfmpegLogParser, child: TrackedChild): void {
    this.#log.debug("ffmpeg", { pid: child.pid, line });
    if (isNoteworthy(line)) {
      this.#stderrTail = [...this.#stderrTail.slice(1 - STDERR_TAIL), line];
    }
    if (parser.feed(line)) {
      this.#input = parser.input;
      this.#publish(this.#status.state, this.#status.state === "live" ? "running" : "starting");
    }
  }
}

/** Lines worth showing in a status: not the indented stream/metadata description blocks. */
function isNoteworthy(line: string): boolean {
  return !/^\s/.test(line) &&
    !/^(Input|Output) #\d|^Stream mapping:|^Press \[q\]|deprecated pixel format/.test(line);
}

export function createFfmpegSource(
  camera: string,
  spec: string,
  cache: FrameCache,
  opts: SourceOptions,
): Source {
  return new FfmpegSource(camera, spec, cache, opts);
}
