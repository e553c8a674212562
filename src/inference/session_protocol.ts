/** Messages between `WorkerSession` (main thread) and `session_worker.ts`. */
import type { TensorData } from "./backend.ts";
import type { BackendName, SpinPolicy } from "./types.ts";

export type WorkerRequest =
  | {
    id: number;
    type: "load";
    backend: BackendName;
    model: Uint8Array;
    threads: number;
    /** When intra/inter-op threads spin-wait (native). */
    spinning: SpinPolicy;
    cuda: boolean;
    /** file: URL of onnxruntime-web's dist/ folder (wasm backend). */
    wasmPaths?: string;
  }
  | { id: number; type: "run"; inputs: Record<string, TensorData> }
  | { id: number; type: "dispose" };

export type WorkerReply =
  | {
    id: number;
    ok: true;
    inputNames?: string[];
    outputNames?: string[];
    /** Execution provider actually used ("cpu", "cuda", "wasm"). */
    provider?: string;
    /** Set when CUDA was asked for but could not be used. */
    cudaError?: string;
    outputs?: Record<string, TensorData>;
    /** The run's input buffers, handed back for reuse. */
    inputs?: Record<string, Float32Array>;
  }
  | {
    id: number;
    ok: false;
    error: string;
    /** "runtime": the backend itself could not start; "model": the model did not load/run. */
    stage: "runtime" | "model";
  };
