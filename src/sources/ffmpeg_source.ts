/**
 * Video through an ffmpeg child: RTSP(S), HTTP(S) video, local files and anything else ffmpeg
 * opens, written as MJPEG (or, with `output: "rgb"`, as raw RGB24 frames) to a pipe and split into
 * frames. One ffmpeg run per session, restarted by the shared reconnect loop. A run that delivers
 * no first frame within `firstFrameTimeoutMs`, or no frame for `stallTimeoutMs` once running, is
 * killed; failures are classified from ffmpeg's stderr (401, 404, refused, corrupt…). MJPEG input
 * is passed through without re-encoding.
 */
import type { FrameCache, FrameSize } from "../core/mod.ts";
import { DEFAULT_MAX_FRAME_BYTES, JpegSplitter } from "../core/mod.ts";
import { errorMessage } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";
import type { SourceState } from "../core/mod.ts";
import {
  analysisFit,
  canCopy,
  ffmpegArgs,
  type FfmpegSettings,
  parseFfmpegSpec,
} from "./ffmpeg_args.ts";
import { ffmpegPath, spawnTracked, type TrackedChild } from "./ffmpeg_process.ts";
import { PpmSplitter, type RawFrame, readPpmStream } from "./ppm_splitter.ts";
import { classifyFailure, FfmpegLogParser, type StreamInfo } from "./ffmpeg_stderr.ts";
import {
  type LoopPhase,
  ReconnectingSource,
  type SessionEnd,
  SourceFailure,
} from "./reconnect_loop.ts";
import type { Source, SourceOptions } from "./source.ts";
import { StderrRing, urlSecrets } from "./stderr_ring.ts";

export const DEFAULT_STALL_TIMEOUT_MS = 10_000;
export const DEFAULT_FIRST_FRAME_TIMEOUT_MS = 30_000;
const STDERR_TAIL = 8;

/** Why a run ended (see `SourceFailure`). */
export class FfmpegFailure extends SourceFailure {
  override name = "FfmpegFailure";
}

type RunOutcome = "ended" | "aborted" | "switch-to-copy" | "full-size";
type FfmpegState = "starting" | "running" | "stalled" | "exited" | "backoff" | "stopped" | "ended";

export class FfmpegSource extends ReconnectingSource {
  readonly settings: FfmpegSettings;
  readonly stallTimeoutMs: number;
  readonly firstFrameTimeoutMs: number;
  readonly #secrets: string[];
  #input: StreamInfo | undefined;
  #copy: boolean;
  /** Analysis scaling given up: the input announces no picture size to map positions back to. */
  #fullSize = false;
  #child: TrackedChild | undefined;
  #stalls = 0;
  #stderrTail: string[] = [];

  constructor(camera: string, spec: string, cache: FrameCache, opts: SourceOptions = {}) {
    const settings = parseFfmpegSpec(spec, opts);
    super(camera, spec, cache, opts, { logName: `ffmpeg ${camera}`, maxMs: 30_000 });
    this.settings = settings;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.firstFrameTimeoutMs = Math.max(
      opts.firstFrameTimeoutMs ?? DEFAULT_FIRST_FRAME_TIMEOUT_MS,
      this.stallTimeoutMs,
    );
    this.#secrets = urlSecrets(spec);
    // A camera's own MJPEG (v4l2 `#format=mjpeg`) goes through untouched from the first run.
    this.#copy = settings.codec === "copy" ||
      (settings.device?.format === "mjpeg" && settings.codec === "auto" && canCopy(settings));
    this.#publish("idle", "starting");
  }

  /** Pid of the running ffmpeg, if any. */
  get pid(): number | undefined {
    return this.#child && !this.#child.exited ? this.#child.pid : undefined;
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.#child?.stop();
  }

  protected override redact(text: string): string {
    let out = redactUrl(text);
    for (const s of this.#secrets) if (s.length >= 3) out = out.split(s).join("***");
    return out;
  }

  protected override loopDetail(phase: LoopPhase): Record<string, unknown> {
    const ffmpeg: FfmpegState = phase === "connecting" ? "starting" : phase;
    return { ...this.#detail(ffmpeg), ...(phase === "ended" ? { ended: true } : {}) };
  }

  protected override failureLogFields(): Record<string, unknown> {
    return { stderr: this.#stderrTail.slice(-3).join(" | ") };
  }

  #detail(ffmpeg: FfmpegState, extra = {}): Record<string, unknown> {
    return {
      ffmpeg,
      pid: this.pid ?? null,
      mode: this.#copy ? "copy" : this.settings.output === "rgb" ? "raw" : "mjpeg",
      input: this.#input ?? null,
      inputFps: this.#input?.fps ?? null,
      transport: this.settings?.kind === "rtsp" ? this.settings.rtspTransport : undefined,
      stalls: this.#stalls,
      stderr: this.#stderrTail,
      ...extra,
    };
  }

  #publish(state: SourceState, ffmpeg: FfmpegState, extra = {}): void {
    this.setState(state, undefined, this.#detail(ffmpeg, extra));
  }

  protected async connect(signal: AbortSignal): Promise<SessionEnd> {
    while (true) {
      const outcome = await this.#run(signal);
      if (outcome === "ended") return "ended";
      if (outcome === "full-size") {
        this.#fullSize = true;
        this.log.warn(
          "the input announces no picture size, so scaled frames could not be mapped back to it: " +
            "reading it at full size",
        );
        continue;
      }
      if (outcome !== "switch-to-copy") return;
      this.#copy = true;
      this.log.info("input is MJPEG: passing frames through without re-encoding");
    }
  }

  async #run(signal: AbortSignal): Promise<RunOutcome> {
    const s = this.settings;
    const ring = new StderrRing(64, 400, this.#secrets);
    const parser = new FfmpegLogParser();
    const splitter = new JpegSplitter(this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    const raw = s.output === "rgb" && !this.#copy ? new PpmSplitter() : undefined;
    const scaled = raw !== undefined && s.analysisSize !== undefined && !this.#fullSize;
    const args = ffmpegArgs(scaled ? s : { ...s, analysisSize: undefined }, this.#copy);
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
    this.log.debug("ffmpeg started", {
      pid: child.pid,
      args: this.redact(args.join(" ")),
    });
    // The last failure reason stays beside lastError until frames flow again.
    this.#publish("connecting", "starting", { pid: child.pid });

    const startedAt = Date.now();
    let firstFrameAt: number | undefined;
    let lastFrameAt = startedAt;
    let stalled = false;
    let switchToCopy = false;
    let fullSize = false;
    let sizeChanged: string | undefined;
    const mayAutoCopy = s.codec === "auto" && !this.#copy && canCopy(s);

    const onAbort = () => void child.stop();
    signal.addEventListener("abort", onAbort, { once: true });
    // Once ffmpeg has opened the input it may read packets for a while before the first keyframe
    // (GOPs of 10 s and more are common): until the first frame it gets the first-frame timeout.
    const limitMs = () =>
      firstFrameAt === undefined && parser.input ? this.firstFrameTimeoutMs : this.stallTimeoutMs;
    const stallCheck = setInterval(() => {
      if (Date.now() - lastFrameAt > limitMs() && !child.exited && !stalled) {
        stalled = true;
        this.#stalls++;
        this.opts.metrics?.inc(
          "detector_ffmpeg_stalls_total",
          "ffmpeg runs killed for delivering no frame",
          {
            camera: this.camera,
          },
        );
        this.log.warn("no frame, killing ffmpeg", {
          pid: child.pid,
          timeoutMs: limitMs(),
          gotFrames: firstFrameAt !== undefined,
        });
        this.#publish(this.status().state, "stalled");
        void child.stop(1000);
      }
    }, Math.max(50, Math.min(1000, this.stallTimeoutMs / 4)));

    const readStderr = async () => {
      for await (const chunk of child.stderr) {
        for (const line of ring.push(chunk)) this.#onStderrLine(line, parser, child);
        if (held && parser.input) {
          const { frame, at } = held;
          held = undefined;
          emitScaled(frame, at);
        }
        if (mayAutoCopy && !switchToCopy && parser.input?.codec === "mjpeg") {
          switchToCopy = true;
          void child.stop(1000);
        }
      }
      for (const line of ring.flush()) this.#onStderrLine(line, parser, child);
    };
    const gotFrame = (width: number, height: number): number => {
      const now = Date.now();
      lastFrameAt = now;
      if (firstFrameAt === undefined) {
        firstFrameAt = now;
        this.log.info("first frame", {
          pid: child.pid,
          latencyMs: now - startedAt,
          width,
          height,
        });
        this.frameArrived(this.#detail("running", { firstFrameMs: now - startedAt }));
      }
      return now;
    };
    // Scaled frames carry the camera's size from the input's description on stderr, which ffmpeg
    // writes before any frame; the newest frame waits in `held` if stdout is read first.
    let held: { frame: RawFrame; at: number } | undefined;
    const emitScaled = (f: RawFrame, at: number) => {
      const native = nativeSize(f, parser.input, s.analysisSize!);
      if (native === "unknown") {
        held = { frame: f, at };
      } else if (native === "unannounced") {
        fullSize = true;
        void child.stop(1000);
      } else if (native && "changed" in native) {
        sizeChanged ??= native.changed;
        void child.stop(1000);
      } else {
        this.emitRgb(f.rgb, f.width, f.height, at, native);
      }
    };
    const readRaw = async (splitter: PpmSplitter) => {
      await readPpmStream(child.stdout, splitter, (frames) => {
        if (switchToCopy || fullSize || sizeChanged) return;
        const now = gotFrame(frames[0].width, frames[0].height);
        for (const f of frames) {
          if (scaled) emitScaled(f, now);
          else this.emitRgb(f.rgb, f.width, f.height, now);
        }
      });
      if (splitter.failed) {
        this.reject(`unreadable ffmpeg output: ${splitter.failed}`);
        void child.stop(1000);
        await child.stdout.cancel().catch(() => {});
      }
    };
    const readStdout = async () => {
      if (raw) return await readRaw(raw);
      let rejectedBefore = 0;
      for await (const chunk of child.stdout) {
        const frames = splitter.push(chunk);
        if (splitter.stats.dropped > rejectedBefore) {
          this.opts.metrics?.inc(
            "detector_frames_rejected_total",
            "Frames refused at ingest, by reason",
            { camera: this.camera, reason: "malformed ffmpeg output" },
            splitter.stats.dropped - rejectedBefore,
          );
          rejectedBefore = splitter.stats.dropped;
        }
        if (frames.length === 0 || switchToCopy) continue;
        const now = gotFrame(frames[0].width, frames[0].height);
        for (const f of frames) this.emit(f.jpeg, f.width, f.height, now);
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
    if (signal.aborted) return "aborted";
    if (switchToCopy) return "switch-to-copy";
    if (fullSize) return "full-size";
    const fail = (code: string, message: string): never => {
      throw new FfmpegFailure(code, message);
    };
    if (raw?.failed) fail("bad_output", `unreadable ffmpeg output: ${raw.failed}`);
    if (sizeChanged) fail("size_changed", sizeChanged);
    if (stalled) {
      fail(
        "stalled",
        firstFrameAt === undefined && parser.input
          ? `no first frame within ${limitMs() / 1000} s, ffmpeg restarted`
          : `stalled: no frame for ${limitMs() / 1000} s, ffmpeg restarted`,
      );
    }
    const exit = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
    this.#publish(this.status().state, "exited", { exit });
    if (status.success && s.kind === "file" && !s.loop && firstFrameAt !== undefined) {
      return "ended";
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
    this.log.debug("ffmpeg", { pid: child.pid, line });
    if (isNoteworthy(line)) {
      this.#stderrTail = [...this.#stderrTail.slice(1 - STDERR_TAIL), line];
    }
    if (parser.feed(line)) {
      this.#input = parser.input;
      const state = this.status().state;
      this.#publish(state, state === "live" ? "running" : "starting");
    }
  }
}

/**
 * The camera's picture size behind a frame ffmpeg scaled to fit `size`: undefined when the frame
 * is the picture itself, "unknown" before the input's description was read, "unannounced" when it
 * has no size, or why the frame does not match it (the camera changed its picture size).
 */
export function nativeSize(
  frame: { width: number; height: number },
  input: StreamInfo | undefined,
  size: number,
): FrameSize | undefined | "unknown" | "unannounced" | { changed: string } {
  if (!input) return "unknown";
  const { width, height } = input;
  if (!width || !height) return "unannounced";
  if (frame.width === width && frame.height === height) return undefined;
  const fit = analysisFit(width, height, size);
  if (Math.abs(fit.width - frame.width) > 1 || Math.abs(fit.height - frame.height) > 1) {
    return {
      changed: `the camera's picture is no longer ${width}x${height} ` +
        `(a ${frame.width}x${frame.height} frame came): reading it again`,
    };
  }
  return { width, height };
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
