/**
 * The seam between model logic (pre-processing, decoding) and the runtime that executes ONNX
 * graphs: `worker_session.ts` (onnxruntime-node or onnxruntime-web, each session in its own
 * Worker), and `session_pool.ts` for several instances of one model.
 */
import type { Metrics } from "../core/mod.ts";
import type { ThreadBudget } from "./thread_budget.ts";
import type { BackendName, SpinPolicy } from "./types.ts";

/** A dense float32 tensor. */
export interface TensorData {
  data: Float32Array;
  dims: number[];
}

export interface SessionOptions {
  /** Intra-op threads (of each instance); default: all cores of the thread budget. */
  threads?: number;
  /** Instances of the model, each running its own input at the same time (default 1). */
  instances?: number;
  /**
   * When intra-op threads spin-wait for work between parallel sections (native only; ONNX
   * Runtime's default is `on`). Default `off`: spinning threads take the cores from everything
   * else that runs meanwhile (other sessions, the next frame's decode, ffmpeg). The process
   * setting (`DETECTOR_ORT_SPINNING`), when given, overrides this.
   */
  spinning?: SpinPolicy;
  /**
   * Cores shared with the other sessions: each run waits for its threads (default: the process
   * budget; null: none).
   */
  budget?: ThreadBudget | null;
  /** Runs take free threads ahead of waiting runs of other sessions that are not urgent. */
  urgent?: boolean;
  /** Try the CUDA execution provider first (native only). */
  cuda?: boolean;
  /** Counts runs refused because the queue is full. */
  metrics?: Metrics;
}

/** One loaded ONNX graph. */
export interface BackendSession {
  readonly backend: BackendName;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs that execute at once (instances of the model); 1 when absent. */
  readonly parallelRuns?: number;
  /**
   * Runs the graph; returns every output by name. Input buffers may be moved to another thread:
   * after the run, use only the `data` each input holds then (it may be a new view).
   */
  run(inputs: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  dispose(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** Loads a model; throws with the runtime's message when the bytes are not a loadable graph. */
  createSession(model: Uint8Array, opts: SessionOptions): Promise<BackendSession>;
}
