/**
 * One running subscription: a lease on the shared reader of its camera, a lease on its pipeline,
 * and a loop that takes the newest frame (never a backlog), crops it, runs the pipeline and sends
 * `imageDetection` (and `patchSession`) for it. Each subscription has its own loop, so a slow model
 * on one camera never holds up another camera's reports.
 */
import sharp from "sharp";
import { Backoff, type BackoffOptions, sleep } from "../core/mod.ts";
import type { Frame } from "../core/mod.ts";
import { AbortedError, type FrameCache } from "../core/mod.ts";
import { walkJpeg } from "../core/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { redactText } from "../core/mod.ts";
import type { FrameInput, PipelineResult } from "../pipeline/mod.ts";
import {
  cropFrameJpeg,
  type CroppedJpeg,
  cropRegion,
  cropRgb,
  frameCropRegion,
  frameJpeg,
} from "../sources/mod.ts";
import type { AcquireOptions, ReaderLease } from "../sources/mod.ts";
import { currentCar, detectionFields } from "./detection_mapping.ts";
import type { DisplaySessions } from "./display_sessions.ts";
import { LogThrottle } from "../core/mod.ts";
import type { PipelineLease } from "./pipeline_pool.ts";
import type { RunningSubscription } from "./subscriptions.ts";
import { readerSpecOf, type SubscriptionSpec } from "./subscription_spec.ts";

export interface ReaderPool {
  acquire(url: string, opts?: AcquireOptions): ReaderLease;
}

export interface PipelineSource {
  acquire(modelUrl: string, modelId: number, signal?: AbortSignal): Promise<PipelineLease>;
}

export interface SubscriptionDeps {
  cache: FrameCache;
  readers: ReaderPool;
  pipelines: PipelineSource;
  sessions: DisplaySessions;
  /** Sends one message to the current backend (dropped when there is none). */
  send(message: Record<string, unknown>): void;
  /** Least time between two pipeline runs of one subscription (`poll_interval_ms`). */
  minIntervalMs: number;
  /** Retry of a model that failed to load. */
  modelRetry?: BackoffOptions;
  /** Told once per failure streak when the model cannot be loaded. */
  onModelError?(spec: SubscriptionSpec, message: string): void;
  /** Counts frames, pipeline errors and failed model loads. */
  metrics: Metrics;
}

export type ModelState = "loading" | "ready" | "failed";

const log = logger("subscription");

export class SubscriptionRunner implements RunningSubscription {
  readonly lease: ReaderLease;
  #abort = new AbortController();
  #task: Promise<void>;
  #pipeline: PipelineLease | undefined;
  #modelState: ModelState = "loading";
  #modelError: string | undefined;
  #processed = 0;
  #imageCache: { seq: number; image: Promise<CroppedJpeg> } | undefined;
  #patched = new Map<string, string>();
  #throttle = new LogThrottle({ burst: 10 });

  constructor(readonly spec: SubscriptionSpec, private readonly deps: SubscriptionDeps) {
    const reader = readerSpecOf(spec);
    this.lease = deps.readers.acquire(reader.url, {
      kind: reader.kind,
      intervalMs: reader.intervalMs,
    });
    this.#task = this.#run().catch((err) => {
      this.#modelError = redactText(errorMessage(err));
      log.error("subscription loop ended", { subscription: this.id, error: this.#modelError });
    });
  }

  get id(): string {
    return this.spec.subscriptionIdentifier;
  }

  get modelState(): ModelState {
    return this.#modelState;
  }

  get modelError(): string | undefined {
    return this.#modelError;
  }

  get processed(): number {
    return this.#processed;
  }

  /** Model loaded and frames arriving. */
  online(): boolean {
    return this.#modelState === "ready" && this.lease.status().state === "live";
  }

  latestFrame(): Frame | undefined {
    return this.deps.cache.latest(this.lease.camera);
  }

  /** The newest frame with this subscription's crop applied, as JPEG (encoded here if raw). */
  image(): Promise<CroppedJpeg> | undefined {
    const frame = this.latestFrame();
    if (!frame) return undefined;
    if (this.#imageCache?.seq === frame.seq) return this.#imageCache.image;
    const image = this.spec.crop
      ? cropFrameJpeg(frame, this.spec.crop)
      : frame.rgb
      ? frameJpeg(frame).then((jpeg) => ({ jpeg, width: frame.width!, height: frame.height! }))
      : Promise.resolve(withSize(frame));
    this.#imageCache = { seq: frame.seq, image };
    image.catch(() => {
      if (this.#imageCache?.image === image) this.#imageCache = undefined;
    });
    return image;
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#task;
    this.#pipeline?.release();
    this.#pipeline = undefined;
    await this.lease.release();
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const pipeline = await this.#loadModel(signal);
    if (!pipeline) return;
    let lastSeq = 0;
    let lastRun = -Infinity;
    while (!signal.aborted) {
      const wait = lastRun + this.deps.minIntervalMs - performance.now();
      if (wait > 0) await sleep(wait, signal);
      let frame: Frame;
      try {
        frame = await this.deps.cache.next(this.lease.camera, lastSeq, signal);
      } catch (err) {
        if (err instanceof AbortedError || signal.aborted) return;
        throw err;
      }
      lastSeq = frame.seq;
      lastRun = performance.now();
      await this.#process(frame, pipeline, signal);
    }
  }

  async #loadModel(signal: AbortSignal): Promise<PipelineLease | undefined> {
    const backoff = new Backoff({ initialMs: 2000, maxMs: 60_000, ...this.deps.modelRetry });
    let failures = 0;
    while (!signal.aborted) {
      try {
        const lease = await this.deps.pipelines.acquire(
          this.spec.modelUrl,
          this.spec.modelId,
          signal,
        );
        if (signal.aborted) {
          lease.release();
          return undefined;
        }
        this.#pipeline = lease;
        this.#modelState = "ready";
        this.#modelError = undefined;
        log.info("model ready", { subscription: this.id, modelId: this.spec.modelId });
        return lease;
      } catch (err) {
        if (signal.aborted) return undefined;
        const message = redactText(errorMessage(err));
        this.#modelState = "failed";
        this.#modelError = message;
        this.deps.metrics.inc(
          "detector_worker_model_load_failures_total",
          "Model loads that failed",
          {
            subscription: this.id,
          },
        );
        const delay = backoff.next();
        log.warn("model not loaded, retrying", {
          subscription: this.id,
          modelId: this.spec.modelId,
          retryInMs: delay,
          error: message,
        });
        if (failures++ === 0) this.deps.onModelError?.(this.spec, message);
        await sleep(delay, signal);
      }
    }
    return undefined;
  }

  async #process(frame: Frame, pipeline: PipelineLease, signal: AbortSignal): Promise<void> {
    let result: PipelineResult;
    const started = performance.now();
    try {
      const input = await pipelineInput(frame, this.spec);
      result = await pipeline.runner.run(input, {
        cameraId: this.id,
        displayId: this.spec.displayId,
      });
    } catch (err) {
      this.deps.metrics.inc(
        "detector_worker_pipeline_errors_total",
        "Frames the pipeline failed on",
        {
          subscription: this.id,
        },
      );
      this.#throttle.warn(log, `pipeline ${this.id}`, "pipeline failed on a frame", {
        subscription: this.id,
        error: redactText(errorMessage(err)),
      });
      return;
    }
    if (signal.aborted) return;
    this.#processed++;
    this.deps.metrics.inc(
      "detector_worker_frames_processed_total",
      "Frames run through a pipeline",
      {
        subscription: this.id,
      },
    );
    this.deps.metrics.set(
      "detector_worker_pipeline_ms",
      "Time of the latest pipeline run (crop included)",
      Math.round(performance.now() - started),
      { subscription: this.id },
    );
    this.#report(frame, result);
  }

  #report(frame: Frame, result: PipelineResult): void {
    const detection = detectionFields(result);
    const backendSession = this.deps.sessions.get(this.spec.displayId);
    const sessionId = result.sessionId ?? backendSession;
    this.deps.send({
      type: "imageDetection",
      subscriptionIdentifier: this.id,
      timestamp: new Date(frame.at).toISOString(),
      ...(sessionId !== undefined && sessionId !== null ? { sessionId } : {}),
      data: { detection, modelId: this.spec.modelId, modelName: this.spec.modelName },
    });
    if (backendSession === undefined || !result.sessionId) return;
    const car = currentCar(detection);
    if (Object.keys(car).length === 0) return;
    const text = JSON.stringify(car);
    if (this.#patched.get(result.sessionId) === text) return;
    if (this.#patched.size > 100) this.#patched.clear();
    this.#patched.set(result.sessionId, text);
    this.deps.send({ type: "patchSession", sessionId: backendSession, data: { currentCar: car } });
  }
}

function withSize(frame: Frame): CroppedJpeg {
  if (frame.width && frame.height) {
    return { jpeg: frame.jpeg, width: frame.width, height: frame.height };
  }
  const info = walkJpeg(frame.jpeg);
  if (info === "incomplete" || !info.ok) throw new Error("frame is not a complete JPEG");
  return { jpeg: frame.jpeg, width: info.info.width, height: info.info.height };
}

/**
 * The frame as the pipeline takes it: raw pixels or the JPEG untouched, the crop as raw RGB (no
 * re-encode). Positions stay in the camera's picture when the pixels were scaled down.
 */
export async function pipelineInput(frame: Frame, spec: SubscriptionSpec): Promise<FrameInput> {
  if (frame.rgb) {
    const width = frame.width!, height = frame.height!;
    const at = frame.at;
    if (!spec.crop) {
      return {
        rgb: frame.rgb,
        width,
        height,
        at,
        ...(frame.native ? { native: frame.native } : {}),
      };
    }
    const { held, picture } = frameCropRegion(spec.crop, { width, height, native: frame.native });
    const rgb = cropRgb(frame.rgb, width, held);
    return {
      rgb,
      width: held.width,
      height: held.height,
      at,
      ...(frame.native ? { native: { width: picture.width, height: picture.height } } : {}),
    };
  }
  const { jpeg, width, height } = withSize(frame);
  if (!spec.crop) return { jpeg, width, height, at: frame.at };
  const region = cropRegion(spec.crop, width, height);
  const { data, info } = await sharp(jpeg).extract(region).removeAlpha().raw().toBuffer({
    resolveWithObject: true,
  });
  return {
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    at: frame.at,
  };
}
