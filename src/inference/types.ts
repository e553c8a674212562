/**
 * The contract between model execution (src/inference) and its users (src/pipeline, `detect`,
 * `replay`, `run`). Boxes are always in pixels of the image that was passed in.
 */
import type { Metrics } from "../core/mod.ts";
import type { Box } from "../core/mod.ts";
import type { ThreadBudget } from "./thread_budget.ts";

/** An image to run a model on: JPEG bytes, or packed RGB pixels (3 bytes per pixel, row-major). */
export type ImageInput =
  | { jpeg: Uint8Array }
  | { rgb: Uint8Array; width: number; height: number };

export interface Detection {
  class: string;
  classId: number;
  confidence: number;
  /** [x1, y1, x2, y2] in pixels of the input image, clipped to it. */
  box: Box;
}

export interface Classification {
  class: string;
  classId: number;
  confidence: number;
}

export interface DetectOptions {
  minConfidence: number;
  /** NMS IoU threshold, default 0.45. */
  iou?: number;
  /** Keep only these class names (all when absent). */
  classes?: string[];
}

interface ModelBase {
  readonly classNames: string[];
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** Backend that runs it: "native" (onnxruntime-node) or "wasm" (onnxruntime-web). */
  readonly backend: BackendName;
  /** Runs of this model that execute at once (its instances); 1 when absent. */
  readonly parallelRuns?: number;
  dispose(): Promise<void>;
}

/**
 * An image already pre-processed for one model (`DetectionModel.prepare`), so that the next
 * frame's decode and letterbox can run while the current frame is in `session.run`. Used once:
 * its tensor is handed over to the run.
 */
export interface PreparedImage {
  readonly model: DetectionModel;
  readonly tensor: Float32Array;
  /** How frame pixels map into the model input (boxes are mapped back with it). */
  readonly letterbox: {
    scaleX: number;
    scaleY: number;
    padX: number;
    padY: number;
    width: number;
    height: number;
  };
}

export interface DetectionModel extends ModelBase {
  readonly task: "detect";
  /** Output layout detected from the output shape. */
  readonly layout: "yolov8" | "yolov5" | "end2end";
  detect(image: ImageInput, opts: DetectOptions): Promise<Detection[]>;
  /** Decodes and letterboxes an image for this model ahead of `detectPrepared`. */
  prepare?(image: ImageInput): Promise<PreparedImage>;
  /** `detect` on an image `prepare` made. */
  detectPrepared?(image: PreparedImage, opts: DetectOptions): Promise<Detection[]>;
}

export interface ClassificationModel extends ModelBase {
  readonly task: "classify";
  classify(image: ImageInput): Promise<Classification>;
}

export type Model = DetectionModel | ClassificationModel;

export type BackendName = "native" | "wasm";
/**
 * When ONNX Runtime's intra-op threads spin-wait for work instead of sleeping: `off` (they sleep),
 * `runs` (they spin while a run lasts and sleep between runs), `on` (ONNX Runtime's default).
 */
export const SPIN_POLICIES = ["off", "runs", "on"] as const;
export type SpinPolicy = (typeof SPIN_POLICIES)[number];

/** What `--backend` may say. */
export const BACKEND_CHOICES = ["auto", "native", "wasm"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface LoadOptions {
  backend?: BackendChoice;
  /** Intra-op threads (of each instance); default: all cores of the thread budget. */
  threads?: number;
  /** Instances of the model, running different inputs at once (default 1). */
  instances?: number;
  /** When intra-op threads spin-wait (native; default off, see SessionOptions). */
  spinning?: SpinPolicy;
  /** Cores shared with other sessions (default: the process budget; null: none). */
  budget?: ThreadBudget | null;
  /** Runs go ahead of waiting runs that are not urgent (see ThreadBudget). */
  urgent?: boolean;
  /** Try the CUDA execution provider first (native backend only). */
  cuda?: boolean;
  /** Class names to use when the ONNX metadata has none (the node's `classes`). */
  classNames?: string[];
  /** Counts inference runs refused because the session's queue is full. */
  metrics?: Metrics;
}
