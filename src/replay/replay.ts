/**
 * `detector replay`: a video file through a pipeline archive, frame by frame, as fast as the
 * machine allows (or in real time). One JSON line per processed frame, a progress bar on a
 * terminal, a summary at the end; optional annotated output, live viewer and dry run.
 */
import { FrameCache } from "../core/mod.ts";
import { errorMessage, type Logger, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import type { ServeContext } from "../http/mod.ts";
import { serveRouter } from "../http/mod.ts";
import { type HttpServer, startHttpServer } from "../http/mod.ts";
import type { ConnectionLimits } from "../http/mod.ts";
import type { BackendChoice } from "../inference/mod.ts";
import { openArchive } from "../mpta/mod.ts";
import { FrameRunner } from "../pipeline/mod.ts";
import type { RunnerOptions } from "../pipeline/mod.ts";
import type { TrackingMode } from "../pipeline/mod.ts";
import type { PipelineResult, PlannedWrite } from "../pipeline/mod.ts";
import { annotateFrame, type AnnotationSink, annotationSink } from "./annotate.ts";
import { describeWrite, frameLine } from "./frame_line.ts";
import { ProgressBar } from "./progress.ts";
import { formatSummary, ReplayStats, type ReplaySummary } from "./stats.ts";
import { fitSize, probeVideo, readRawFrames } from "./video_reader.ts";

export interface ReplayOptions {
  video: string;
  mpta: string;
  realtime: boolean;
  every: number;
  /** JSON lines to this file; stdout when absent. */
  out?: string;
  annotate?: string;
  dryRun: boolean;
  serve?: { host: string; port: number; limits?: ConnectionLimits };
  tracking: TrackingMode;
  sessionCooldownMs: number;
  spoolDir: string;
  /** Spool bounds and write servers instead of the archive's blocks; see RunnerOptions. */
  writes?: Pick<RunnerOptions, "redisUrl" | "postgresUrl" | "spoolMaxEntries" | "spoolMaxBytes">;
  backend: BackendChoice;
  threads?: number;
  /** Instances of the root model (default: the process setting, see `modelInstances`). */
  instances?: number;
  /** Analysis size: "model" (fit into the root model's input, default), "full", or WxH. */
  size: "model" | "full" | { width: number; height: number };
  camera: string;
  display: string;
  /** How long to wait at the end for spooled writes to reach a server that is up. */
  drainTimeoutMs: number;
  /** Progress bar; default: when stderr is a terminal. */
  progress?: boolean;
  signal?: AbortSignal;
  log?: Logger;
  /** Counts the pipeline's frames and writes; `serve` shows it at /metrics. */
  metrics: Metrics;
}

export interface ReplayOutcome {
  summary: ReplaySummary;
  /** The viewer, when `serve` was given (still running: the caller stops it). */
  server?: HttpServer;
}

const VIEWER_CAMERA = "replay";

async function lineWriter(out: string | undefined, flushEvery: number) {
  const file = out ? await Deno.open(out, { write: true, create: true, truncate: true }) : null;
  const writer = file ? null : Deno.stdout.writable.getWriter();
  const enc = new TextEncoder();
  let buffered: string[] = [];
  const flush = async () => {
    if (!buffered.length) return;
    const bytes = enc.encode(buffered.join(""));
    buffered = [];
    if (!file) return await writer!.write(bytes);
    // Straight to the file: a stream's writer held whole runs in memory until close.
    for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
  };
  return {
    async line(obj: unknown) {
      buffered.push(JSON.stringify(obj) + "\n");
      if (buffered.length >= flushEvery) await flush();
    },
    async close() {
      await flush();
      if (file) file.close();
      else writer!.releaseLock();
    },
  };
}

export async function runReplay(opts: ReplayOptions): Promise<ReplayOutcome> {
  const log = opts.log ?? logger("replay");
  const info = await probeVideo(opts.video);
  const archive = await openArchive(opts.mpta);
  const writesOfFrame: PlannedWrite[] = [];
  const runner = await FrameRunner.create(archive, {
    backend: opts.backend,
    threads: opts.threads,
    instances: opts.instances,
    spoolDir: opts.spoolDir,
    ...opts.writes,
    tracking: opts.tracking,
    sessionCooldownMs: opts.sessionCooldownMs,
    metrics: opts.metrics,
    dryRun: opts.dryRun,
    onPlannedWrite: (w) => {
      writesOfFrame.push(w);
      if (opts.dryRun) log.info(`dry run, would write: ${describeWrite(w)}`);
    },
    log: logger("pipeline"),
  });
  const size = opts.size === "full"
    ? { width: info.width, height: info.height }
    : opts.size === "model"
    ? fitSize(info, runner.rootInputSize())
    : opts.size;
  log.info("replaying", {
    video: opts.video,
    video_size: `${info.width}x${info.height}`,
    fps: Number(info.fps.toFixed(3)),
    frames: info.frames ?? undefined,
    analysis_size: `${size.width}x${size.height}`,
    every: opts.every,
    tracking: opts.tracking,
    dryRun: opts.dryRun || undefined,
  });
  const { redis, postgresql } = archive.spec;
  if (!opts.dryRun && (redis || postgresql)) {
    log.info(
      `writes go to ${
        [redis && "Redis", postgresql && "PostgreSQL"].filter(Boolean).join(" and ")
      }; ` +
        `while a server is unreachable they wait in ${opts.spoolDir} and are sent on the next run ` +
        `(--dry-run writes nothing)`,
    );
  }

  let sink: AnnotationSink | undefined;
  let server: HttpServer | undefined;
  let cache: FrameCache | undefined;
  const stats = new ReplayStats();
  stats.videoFrames = info.frames;
  const total = info.frames ? Math.ceil(info.frames / opts.every) : null;
  const progress = new ProgressBar(total, opts.progress);
  // In real time every line is written at once (someone may be watching the file).
  // A file gets each line as it is produced, so a killed replay loses at most the line in flight.
  const lines = await lineWriter(opts.out, opts.realtime || opts.out ? 1 : 32);
  let failed = false;
  try {
    if (opts.annotate) {
      const videoSize = { width: info.width, height: info.height };
      sink = await annotationSink(opts.annotate, info.fps / opts.every, videoSize);
    }
    if (opts.serve) {
      cache = new FrameCache();
      cache.ensure(VIEWER_CAMERA);
      const shutdown = new AbortController();
      opts.signal?.addEventListener("abort", () => shutdown.abort(), { once: true });
      const ctx: ServeContext = {
        cache,
        targetFps: Math.max(1, Math.ceil(info.fps)),
        shutdown: shutdown.signal,
        defaultCamera: () => VIEWER_CAMERA,
        metrics: opts.metrics,
      };
      server = startHttpServer(
        serveRouter(ctx),
        opts.serve.host,
        opts.serve.port,
        opts.serve.limits,
      );
      log.info(`listening on ${server.url}`, { camera: VIEWER_CAMERA });
    }
    const t0 = Date.now();
    const frames = readRawFrames(opts.video, {
      width: size.width,
      height: size.height,
      fps: info.fps,
      every: opts.every,
      realtime: opts.realtime,
      signal: opts.signal,
    });
    // Frames ahead: the next ones are read and pre-processed (letterboxed for the root model,
    // and detected when the root model has instances to spare) while the current one runs.
    // Their results are taken in frame order.
    const ctx = { cameraId: opts.camera, displayId: opts.display };
    let read = Promise.resolve();
    const ahead = () => {
      const next = read.then(() => frames.next()).then((n) =>
        n.done ? null : {
          f: n.value,
          input: runner.prepare({
            rgb: n.value.rgb,
            width: n.value.width,
            height: n.value.height,
            at: t0 + n.value.ptsMs,
          }),
        }
      );
      read = next.then(() => {}, () => {});
      next.catch(() => {}); // a read failure is thrown when it is awaited
      return next;
    };
    let waitStart = performance.now();
    const pending = Array.from({ length: runner.framesAhead }, ahead);
    try {
      while (true) {
        const current = await pending.shift()!;
        if (!current) break;
        const f = current.f;
        stats.addTiming("decode", performance.now() - waitStart);
        if (opts.signal?.aborted) break;
        pending.push(ahead());
        stats.lastFrameIndex = f.index;
        writesOfFrame.length = 0;
        let result: PipelineResult | null = null;
        let error: string | undefined;
        try {
          result = await runner.run(current.input, ctx);
        } catch (err) {
          error = errorMessage(err);
          stats.errors++;
          if (stats.errors <= 5 || stats.errors % 100 === 0) {
            log.warn("pipeline failed on a frame", {
              frame: f.index,
              error,
              failures: stats.errors,
            });
          }
        }
        stats.processed++;
        if (result) {
          for (const [stage, ms] of Object.entries(result.timings)) stats.addTiming(stage, ms);
          for (const cls of Object.keys(result.regions)) stats.addDetection(cls);
          stats.addSession(result.sessionId);
          if (result.eventFired) stats.events++;
        }
        await lines.line(frameLine(f, result, [...writesOfFrame], error));
        if ((sink || cache) && result) {
          const tAnn = performance.now();
          const jpeg = await annotateFrame(f, result);
          if (sink) await sink.write(jpeg, f.index);
          cache?.put(VIEWER_CAMERA, jpeg, { width: f.width, height: f.height });
          stats.addTiming("annotate", performance.now() - tAnn);
        }
        progress.update(stats.processed, stats.elapsedS());
        waitStart = performance.now();
      }
    } finally {
      await Promise.allSettled(pending);
      await frames.return(undefined);
    }
    progress.update(stats.processed, stats.elapsedS(), true);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    progress.finish();
    await lines.close().catch(() => {});
    if (sink) {
      await sink.close().catch((err) => {
        if (!failed) throw err;
      });
    }
    if (!opts.dryRun && !opts.signal?.aborted) {
      const drained = await runner.flush(opts.drainTimeoutMs);
      if (!drained) {
        log.warn(
          `some writes could not be delivered yet; they stay in the spool (${opts.spoolDir}) and are sent on the next run`,
        );
      }
    }
    await runner.close();
    if (failed && server) await server.shutdown();
  }
  const summary = stats.summary(!runner.sessionsEnabled);
  console.error(formatSummary(summary));
  return { summary, server };
}
