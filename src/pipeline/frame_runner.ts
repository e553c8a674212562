/**
 * The PipelineRunner behind createPipelineRunner: docs/mpta.md "Execution of one frame" end to end —
 * root detection, tracking, regions and checks, pre-validation, branches, the event decision, and
 * the event's writes (planned whole, then submitted to the write queues or printed in dry-run).
 */
import {
  type ActionScope,
  branchPlaceholders,
  compileTreeActions,
  type NodeActions,
  planActions,
} from "../actions/mod.ts";
import { sinkUrls, WriteSinks } from "../actions/mod.ts";
import type { TemplateValues } from "../actions/mod.ts";
import { branchValues, detectionValues, eventValues, formatTimestamp } from "../actions/mod.ts";
import type { WriteOp } from "../actions/mod.ts";
import { errorMessage, type Logger, logger } from "../core/mod.ts";
import type { Model } from "../inference/mod.ts";
import type { PipelineArchive, PipelineNode } from "../mpta/mod.ts";
import { FrameImage } from "./crop.ts";
import { branchResults, Engine, eventComplete, type NodeRun } from "./engine.ts";
import { disposeModels, loadPipelineModels } from "./models.ts";
import { missingRequiredBranches } from "./prevalidation.ts";
import {
  bestOverall,
  bestPerClass,
  hasAllExpectedClasses,
  passesExpectedClasses,
} from "./regions.ts";
import type { RunnerOptions } from "./runner_options.ts";
import { CameraSessions } from "./sessions.ts";
import type {
  FrameInput,
  PipelineResult,
  PipelineRunner,
  RunContext,
  TrackedDetection,
} from "./types.ts";

/** Scores below this never reach the tracker (ByteTrack's low threshold). */
const TRACK_LOW_THRESH = 0.1;

export class FrameRunner implements PipelineRunner {
  #engine: Engine;
  #actions: Map<string, NodeActions>;
  #cameras = new Map<string, CameraSessions>();
  #sinks: WriteSinks;
  #sessionsEnabled: boolean;
  #log: Logger;
  #closed = false;

  private constructor(
    readonly archive: PipelineArchive,
    readonly opts: RunnerOptions,
    models: Map<string, Model>,
    actions: Map<string, NodeActions>,
    sinks: WriteSinks,
    sessionsEnabled: boolean,
    log: Logger,
  ) {
    this.#log = log;
    this.#engine = new Engine(models, log, opts.metrics);
    this.#actions = actions;
    this.#sinks = sinks;
    this.#sessionsEnabled = sessionsEnabled;
  }

  static async create(archive: PipelineArchive, opts: RunnerOptions): Promise<FrameRunner> {
    const log = opts.log ?? logger("pipeline");
    const spec = archive.spec;
    const actions = compileTreeActions(spec.pipeline);
    const urls = sinkUrls(spec, opts);
    const sessionsEnabled = spec.pipeline.multiClass && urls.postgres !== undefined;
    const load = opts.loadModels ?? loadPipelineModels;
    const models = await load(archive, {
      backend: opts.backend,
      threads: opts.threads,
      instances: opts.instances,
      metrics: opts.metrics,
    });
    let sinks: WriteSinks;
    try {
      sinks = await WriteSinks.open(spec.pipeline, urls, {
        ...opts,
        sessions: sessionsEnabled,
        log,
      });
    } catch (err) {
      await disposeModels(models);
      throw err;
    }
    return new FrameRunner(archive, opts, models, actions, sinks, sessionsEnabled, log);
  }

  #camera(cameraId: string): CameraSessions {
    let c = this.#cameras.get(cameraId);
    if (!c) {
      const root = this.archive.spec.pipeline;
      c = new CameraSessions({
        mode: this.opts.tracking,
        cooldownMs: this.opts.sessionCooldownMs,
        sessionsEnabled: this.#sessionsEnabled,
        highThresh: root.minConfidence,
        lowThresh: Math.min(TRACK_LOW_THRESH, root.minConfidence),
      });
      this.#cameras.set(cameraId, c);
    }
    return c;
  }

  /** Input size of the root model (replay scales frames to fit it). */
  rootInputSize(): { width: number; height: number } {
    const m = this.#engine.model(this.archive.spec.pipeline);
    return { width: m.inputWidth, height: m.inputHeight };
  }

  /** Frames worth preparing ahead of `run`: the root model's instances (at least 1). */
  get framesAhead(): number {
    return Math.max(1, this.#engine.model(this.archive.spec.pipeline).parallelRuns ?? 1);
  }

  /** True when events get session ids and rows (PostgreSQL configured, multiClass root). */
  get sessionsEnabled(): boolean {
    return this.#sessionsEnabled;
  }

  /** Sessions started so far, over every camera. */
  get sessions(): number {
    let n = 0;
    for (const c of this.#cameras.values()) n += c.sessions;
    return n;
  }

  /** Lowest root confidence kept: the tracker also takes low-score boxes. */
  #rootMinConfidence(): number {
    const root = this.archive.spec.pipeline;
    return this.opts.tracking === "bytetrack"
      ? Math.min(TRACK_LOW_THRESH, root.minConfidence)
      : root.minConfidence;
  }

  /**
   * The frame with its root-model pre-processing (decode, letterbox) started now, and, when the
   * root model has several instances, its root detection too: give the result to `run` later
   * (frames in the order they were prepared), so that this work overlaps the frame before.
   * Tracking, branches and actions still run in `run`, in frame order.
   */
  prepare(frame: FrameInput): FrameInput {
    if (this.#closed || frame.prepared || frame.detected) return frame;
    const root = this.archive.spec.pipeline;
    try {
      const prepared = this.#engine.prepare(root, new FrameImage(frame));
      if (!prepared) return frame;
      if ((this.#engine.model(root).parallelRuns ?? 1) < 2) return { ...frame, prepared };
      const detected = this.#engine.detect(
        root,
        new FrameImage(frame),
        this.#rootMinConfidence(),
        true,
        prepared,
      );
      detected.catch(() => {}); // the error is raised where the frame is run
      return { ...frame, prepared, detected };
    } catch {
      return frame; // a malformed frame fails in run, with its error
    }
  }

  async run(frame: FrameInput, ctx: RunContext): Promise<PipelineResult> {
    if (this.#closed) throw new Error("pipeline runner is closed");
    const root = this.archive.spec.pipeline;
    const timings: Record<string, number> = {};
    const t0 = performance.now();
    const image = new FrameImage(frame);
    const cam = this.#camera(ctx.cameraId);
    this.opts.metrics.inc("detector_pipeline_frames_total", "Frames run through a pipeline");

    const all = await (frame.detected ??
      this.#engine.detect(root, image, this.#rootMinConfidence(), true, frame.prepared));
    timings.detect = performance.now() - t0;

    const tTrack = performance.now();
    const ids = cam.tracker ? cam.tracker.update(all) : [];
    const tracked: TrackedDetection[] = [];
    all.forEach((d, i) => {
      if (d.confidence < root.minConfidence) return;
      tracked.push(ids[i] !== undefined ? { ...d, trackId: ids[i] } : { ...d });
    });
    timings.track = performance.now() - tTrack;

    const regions = bestPerClass(tracked);
    const best = bestOverall(tracked);
    const result: PipelineResult = {
      detection: best,
      regions,
      branchResults: {},
      sessionId: null,
      timings,
      detections: tracked,
      eventFired: false,
    };
    const skip = (reason: string) => {
      cam.decide(null, frame.at, false);
      this.opts.metrics.inc(
        "detector_pipeline_skipped_total",
        "Frames that yielded no event, by reason",
        {
          reason,
        },
      );
      result.skipped = reason;
      timings.total = performance.now() - t0;
      return result;
    };
    if (tracked.length === 0) return skip("no_detection");
    if (!passesExpectedClasses(root, regions)) return skip("expected_classes");
    const missing = missingRequiredBranches(root, regions);
    if (missing.length) {
      this.#log.debug("pre-validation failed, nothing is written", { missing: missing.join(",") });
      return skip("prevalidation");
    }

    const tBranches = performance.now();
    const rootRun: NodeRun = {
      node: root,
      image,
      detections: tracked,
      regions,
      best,
      branches: await this.#engine.runBranches(root, image, regions),
      fields: {},
    };
    timings.branches = performance.now() - tBranches;
    result.branchResults = branchResults(rootRun.branches);

    const anchor = this.#anchor(root, regions);
    result.trackId = anchor?.trackId;
    const ready = eventComplete(rootRun) &&
      (!this.#sessionsEnabled || hasAllExpectedClasses(root, regions));
    const whole = Object.values(regions).every((d) =>
      !touchesBorder(d.box, image.width, image.height)
    );
    const decision = cam.decide(anchor, frame.at, ready, whole);
    result.sessionId = decision.sessionId;
    if (decision.fire) {
      const tActions = performance.now();
      result.eventFired = await this.#fire(rootRun, decision.sessionId, frame, ctx, best);
      timings.actions = performance.now() - tActions;
    } else if (!ready) {
      result.skipped = "incomplete";
    }
    timings.total = performance.now() - t0;
    return result;
  }

  /** The region standing for the vehicle: the first expected (or trigger) class detected. */
  #anchor(root: PipelineNode, regions: Record<string, TrackedDetection>) {
    const order = root.multiClass && root.expectedClasses.length
      ? root.expectedClasses
      : root.triggerClasses;
    for (const c of order) if (regions[c]) return regions[c];
    return bestOverall(Object.values(regions));
  }

  /** Plans the event's writes whole, then submits them; false when planning failed. */
  async #fire(
    rootRun: NodeRun,
    sessionId: string | null,
    frame: FrameInput,
    ctx: RunContext,
    subject: TrackedDetection | null,
  ): Promise<boolean> {
    const context = eventValues(frame.at, { ...ctx, sessionId });
    const ops: WriteOp[] = [];
    if (sessionId) {
      ops.push({
        sink: "postgres",
        op: "initial_session",
        sessionId,
        displayId: ctx.displayId,
        capturedTimestamp: formatTimestamp(frame.at),
      });
    }
    try {
      await this.#planNode(rootRun, { ...context, ...detectionValues(subject) }, ops);
    } catch (err) {
      this.opts.metrics.inc(
        "detector_pipeline_plan_errors_total",
        "Events not written: planning failed",
      );
      this.#log.error("event not written: its writes could not be prepared", {
        camera: ctx.cameraId,
        error: errorMessage(err),
      });
      return false;
    }
    this.opts.metrics.inc("detector_pipeline_events_total", "Events whose writes were submitted");
    this.#sinks.submit(ops, ctx.cameraId);
    return true;
  }

  async #planNode(run: NodeRun, values: TemplateValues, out: WriteOp[]): Promise<void> {
    const compiled = this.#actions.get(run.node.modelId);
    const scope = (v: TemplateValues): ActionScope => ({
      values: v,
      regions: run.regions,
      encode: (box, format, quality) => run.image.encode(box, format, quality),
      warn: (m, f) => this.#log.warn(m, f),
    });
    if (compiled) await planActions(compiled.actions, scope(values), out);
    for (const name of branchPlaceholders(run.node)) values[name] = null;
    for (const [id, child] of Object.entries(run.branches)) {
      const subject = child.classification ? { ...child.classification } : child.best;
      await this.#planNode(child, { ...values, ...detectionValues(subject), image_key: null }, out);
      values = { ...values, ...branchValues(id, child) };
    }
    if (compiled) await planActions(compiled.parallelActions, scope(values), out);
  }

  /** Waits until submitted writes reached their servers (false: some are still spooled). */
  flush(timeoutMs = 10_000): Promise<boolean> {
    return this.#sinks.flush(timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sinks.close();
    await disposeModels(this.#engine.models);
  }
}

/** True when a box reaches within 2 px of the frame's edge (the object is probably cut). */
export function touchesBorder(box: number[], width: number, height: number): boolean {
  if (!(width > 0 && height > 0)) return false;
  const m = 2;
  return box[0] <= m || box[1] <= m || box[2] >= width - m || box[3] >= height - m;
}
