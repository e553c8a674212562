/**
 * The PipelineRunner behind createPipelineRunner: MPTA.md "Execution of one frame" end to end —
 * root detection, tracking, regions and checks, pre-validation, branches, the event decision, and
 * the event's writes (planned whole, then submitted to the write queues or printed in dry-run).
 */
import {
  type ActionScope,
  branchPlaceholders,
  compileTreeActions,
  type NodeActions,
  planActions,
} from "../actions/action_plan.ts";
import {
  acquireWriteQueue,
  checkServerUrl,
  type ServerKind,
  type WriteLease,
} from "../actions/connections.ts";
import { postgresUrl } from "../actions/postgres_actions.ts";
import { redisUrl } from "../actions/redis_actions.ts";
import type { TemplateValues } from "../actions/template.ts";
import type { WriteOp } from "../actions/write_op.ts";
import { errorMessage, type Logger, logger } from "../core/log.ts";
import { metrics } from "../core/metrics.ts";
import { redactUrl } from "../core/redact.ts";
import { disposeModels, loadPipelineModels } from "./models.ts";
import type { Detection, Model } from "../inference/types.ts";
import type { PipelineArchive, PipelineNode } from "../mpta/types.ts";
import { FrameImage } from "./crop.ts";
import { branchResults, Engine, eventComplete, type NodeRun } from "./engine.ts";
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
  PlannedWrite,
  RunContext,
  TrackedDetection,
} from "./types.ts";

/** Scores below this never reach the tracker (ByteTrack's low threshold). */
const TRACK_LOW_THRESH = 0.1;

/** `YYYY-MM-DDTHH-MM-SS` in local time, the original's `{timestamp}`. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${
    p(d.getMinutes())
  }-${p(d.getSeconds())}`;
}

function usesSink(node: PipelineNode, sink: ServerKind): boolean {
  const actions = [...node.actions, ...node.parallelActions];
  const hit = actions.some((a) =>
    sink === "redis"
      ? a.type !== "postgresql_update_combined"
      : a.type === "postgresql_update_combined"
  );
  return hit || node.branches.some((b) => usesSink(b, sink));
}

/** Placeholder values of a detection (or classification) result. */
function detectionValues(
  d:
    | { class: string; classId: number; confidence: number; box?: number[]; trackId?: number }
    | null,
): TemplateValues {
  const box = d?.box?.map((v) => Math.round(v));
  return {
    class: d?.class ?? null,
    classId: d?.classId ?? null,
    confidence: d?.confidence ?? null,
    id: d?.trackId ?? null,
    track_id: d?.trackId ?? null,
    bbox: box ? JSON.stringify(box) : null,
    box: box ? JSON.stringify(box) : null,
    x1: box?.[0] ?? null,
    y1: box?.[1] ?? null,
    x2: box?.[2] ?? null,
    y2: box?.[3] ?? null,
  };
}

function planned(op: WriteOp): PlannedWrite {
  if (op.sink === "redis") {
    if (op.op === "set") {
      const png = op.value[0] === 0x89 && op.value[1] === 0x50;
      return {
        sink: "redis",
        op: "set",
        key: op.key,
        bytes: op.value.byteLength,
        format: png ? "png" : "jpeg",
        ...(op.ttl ? { ttl: op.ttl } : {}),
      };
    }
    return op;
  }
  if (op.op === "upsert") {
    const fields: Record<string, string | number | null> = { ...op.fields };
    for (const c of op.now ?? []) fields[c] = "NOW()";
    return { ...op, fields };
  }
  return op;
}

export class FrameRunner implements PipelineRunner {
  #engine: Engine;
  #actions: Map<string, NodeActions>;
  #cameras = new Map<string, CameraSessions>();
  #leases: Partial<Record<ServerKind, WriteLease>> = {};
  #missingSinkWarned = new Set<ServerKind>();
  #sessionsEnabled: boolean;
  #log: Logger;
  #closed = false;

  private constructor(
    readonly archive: PipelineArchive,
    readonly opts: RunnerOptions,
    models: Map<string, Model>,
    actions: Map<string, NodeActions>,
    sessionsEnabled: boolean,
    log: Logger,
  ) {
    this.#log = log;
    this.#engine = new Engine(models, log);
    this.#actions = actions;
    this.#sessionsEnabled = sessionsEnabled;
  }

  static async create(archive: PipelineArchive, opts: RunnerOptions): Promise<FrameRunner> {
    const log = opts.log ?? logger("pipeline");
    const spec = archive.spec;
    const actions = compileTreeActions(spec.pipeline);
    const urls: Partial<Record<ServerKind, string>> = {
      redis: opts.redisUrl ?? (spec.redis ? redisUrl(spec.redis) : undefined),
      postgres: opts.postgresUrl ?? (spec.postgresql ? postgresUrl(spec.postgresql) : undefined),
    };
    const sessionsEnabled = spec.pipeline.multiClass && urls.postgres !== undefined;
    const load = opts.loadModels ?? loadPipelineModels;
    const models = await load(archive, { backend: opts.backend, threads: opts.threads });
    const runner = new FrameRunner(archive, opts, models, actions, sessionsEnabled, log);
    try {
      if (!opts.dryRun) {
        for (const kind of ["redis", "postgres"] as const) {
          const url = urls[kind];
          const needed = usesSink(spec.pipeline, kind) || (kind === "postgres" && sessionsEnabled);
          if (!needed) continue;
          if (!url) {
            log.warn(
              `the pipeline writes to ${kind} but the archive has no ${
                kind === "redis" ? "redis" : "postgresql"
              } block and DETECTOR_${kind.toUpperCase()}_URL is not set: those writes are dropped`,
            );
            continue;
          }
          checkServerUrl(kind, url, kind === "redis" ? "Redis URL" : "PostgreSQL URL");
          runner.#leases[kind] = await acquireWriteQueue(kind, url, opts.spoolDir, {
            spoolMaxEntries: opts.spoolMaxEntries,
            spoolMaxBytes: opts.spoolMaxBytes,
            log,
          });
          log.info(`${kind} writes go to ${redactUrl(url)}`, { spoolDir: opts.spoolDir });
        }
      }
    } catch (err) {
      await runner.close();
      throw err;
    }
    return runner;
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

  async run(frame: FrameInput, ctx: RunContext): Promise<PipelineResult> {
    if (this.#closed) throw new Error("pipeline runner is closed");
    const root = this.archive.spec.pipeline;
    const timings: Record<string, number> = {};
    const t0 = performance.now();
    const image = new FrameImage(frame);
    const cam = this.#camera(ctx.cameraId);
    metrics.inc("detector_pipeline_frames_total", "Frames run through a pipeline");

    const lowest = cam.tracker
      ? Math.min(TRACK_LOW_THRESH, root.minConfidence)
      : root.minConfidence;
    const all = await this.#engine.detect(root, image, lowest, true);
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
      metrics.inc("detector_pipeline_skipped_total", "Frames that yielded no event, by reason", {
        reason,
      });
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
      !touchesBorder(d.box, frame.width, frame.height)
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
    const timestamp = formatTimestamp(frame.at);
    const context: TemplateValues = {
      timestamp_ms: frame.at,
      timestamp,
      uuid: crypto.randomUUID(),
      filename: `${crypto.randomUUID()}.jpg`,
      camera_id: ctx.cameraId,
      display_id: ctx.displayId,
      session_id: sessionId,
      image_key: null,
    };
    const ops: WriteOp[] = [];
    if (sessionId) {
      ops.push({
        sink: "postgres",
        op: "initial_session",
        sessionId,
        displayId: ctx.displayId,
        capturedTimestamp: timestamp,
      });
    }
    try {
      await this.#planNode(rootRun, { ...context, ...detectionValues(subject) }, ops);
    } catch (err) {
      metrics.inc("detector_pipeline_plan_errors_total", "Events not written: planning failed");
      this.#log.error("event not written: its writes could not be prepared", {
        camera: ctx.cameraId,
        error: errorMessage(err),
      });
      return false;
    }
    metrics.inc("detector_pipeline_events_total", "Events whose writes were submitted");
    this.#submit(ops, ctx);
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

  #submit(ops: WriteOp[], ctx: RunContext): void {
    const byKind: Record<ServerKind, WriteOp[]> = { redis: [], postgres: [] };
    for (const op of ops) {
      byKind[op.sink].push(op);
      this.opts.onPlannedWrite?.(planned(op), { cameraId: ctx.cameraId });
    }
    if (this.opts.dryRun) return;
    for (const kind of ["redis", "postgres"] as const) {
      if (byKind[kind].length === 0) continue;
      const lease = this.#leases[kind];
      if (!lease) {
        metrics.inc("detector_writes_total", "Writes to Redis/PostgreSQL by result", {
          server: kind,
          result: "no_server",
        }, byKind[kind].length);
        if (!this.#missingSinkWarned.has(kind)) {
          this.#missingSinkWarned.add(kind);
          this.#log.warn(`no ${kind} server configured: writes dropped`);
        }
        continue;
      }
      lease.queue.submit(byKind[kind]);
    }
  }

  /** Waits until submitted writes reached their servers (false: some are still spooled). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const results = await Promise.all(
      Object.values(this.#leases).map((l) => l!.queue.flush(timeoutMs)),
    );
    return results.every(Boolean);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(Object.values(this.#leases).map((l) => l!.release()));
    await disposeModels(this.#engine.models);
  }
}

/** True when a box reaches within 2 px of the frame's edge (the object is probably cut). */
export function touchesBorder(box: number[], width: number, height: number): boolean {
  if (!(width > 0 && height > 0)) return false;
  const m = 2;
  return box[0] <= m || box[1] <= m || box[2] >= width - m || box[3] >= height - m;
}

/** `{branchId.field}` values of a branch run. */
function branchValues(id: string, run: NodeRun): TemplateValues {
  const src: Partial<Detection> = run.classification ?? run.best ?? {};
  const out: TemplateValues = {
    [`${id}.class`]: src.class ?? null,
    [`${id}.classId`]: src.classId ?? null,
    [`${id}.confidence`]: src.confidence ?? null,
  };
  for (const [k, v] of Object.entries(run.fields)) out[`${id}.${k}`] = v;
  return out;
}
