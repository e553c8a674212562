/**
 * The seam between model logic (pre-processing, decoding) and the runtime that executes ONNX
 * graphs. Two implementations: `native_backend.ts` (onnxruntime-node) and `wasm_backend.ts`
 * (onnxruntime-web in a Worker).
 */
import type { Metrics } from "../core/metrics.ts";
import type { BackendName } from "./types.ts";

/** A dense float32 tensor. */
export interface TensorData {
  data: Float32Array;
  dims: number[];
}

export interface SessionOptions {
  /** Intra-op threads; default: all cores. */
  threads?: number;
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
  /** Runs the graph; returns every output by name. */
  run(inputs: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  dispose(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** Loads a model; throws with the runtime's message when the bytes are not a loadable graph. */
  createSession(model: Uint8Array, opts: SessionOptions): Promise<BackendSession>;
}
