/**
 * A `BackendSession` whose ONNX session lives in its own Worker (`session_worker.ts`). Runs are
 * serialised per session and bounded: more than `maxQueued` waiting runs are refused. Each run
 * takes the session's threads from the thread budget while it runs.
 */
import type { Metrics } from "../core/mod.ts";
import type { BackendSession, SessionOptions, TensorData } from "./backend.ts";
import type { WorkerReply, WorkerRequest } from "./session_protocol.ts";
import { processThreadBudget, type ThreadBudget } from "./thread_budget.ts";
import type { BackendName, SpinPolicy } from "./types.ts";

/** The backend could not start at all (module or native library missing): worth a fallback. */
export class BackendUnavailableError extends Error {}
/** The model did not load or run. */
export class SessionError extends Error {}

/** Runs a session (or a pool of instances) lets wait before it refuses more. */
export const MAX_QUEUED_RUNS = 16;

type Pending = { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void };

const workerUrl = new URL("./session_worker.ts", import.meta.url);

function wasmDistUrl(): string {
  const entry = import.meta.resolve("onnxruntime-web");
  return entry.slice(0, entry.lastIndexOf("/") + 1);
}

let spinning: SpinPolicy | undefined;

/**
 * When intra-op threads spin-wait, for every session of the process (`DETECTOR_ORT_SPINNING`);
 * undefined leaves it to each session's options. Set once at start.
 */
export function setOrtSpinning(policy: SpinPolicy | undefined): void {
  spinning = policy;
}

export class WorkerSession implements BackendSession {
  readonly backend: BackendName;
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  /** Execution provider in use: cpu, cuda or wasm. */
  provider = "";
  /** Why CUDA was not used when it was asked for. */
  cudaError?: string;
  readonly maxQueued: number;
  /** Intra-op threads of the session. */
  threads = 1;
  #budget: ThreadBudget | null = null;
  #urgent = false;
  #worker: Worker;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #chain: Promise<unknown> = Promise.resolve();
  #queued = 0;
  #dead?: Error;

  private constructor(
    backend: BackendName,
    maxQueued: number,
    private readonly metrics: Metrics | undefined,
  ) {
    this.backend = backend;
    this.maxQueued = maxQueued;
    this.#worker = new Worker(workerUrl, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const p = this.#pending.get(e.data.id);
      if (!p) return;
      this.#pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data);
      else {
        p.reject(
          e.data.stage === "runtime"
            ? new BackendUnavailableError(e.data.error)
            : new SessionError(e.data.error),
        );
      }
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#fail(new SessionError(`inference worker crashed: ${e.message}`));
    };
  }

  /** Starts a worker and loads the model in it. */
  static async create(
    backend: BackendName,
    model: Uint8Array,
    opts: SessionOptions & { maxQueued?: number },
  ): Promise<WorkerSession> {
    const s = new WorkerSession(backend, opts.maxQueued ?? MAX_QUEUED_RUNS, opts.metrics);
    try {
      const budget = opts.budget === undefined ? processThreadBudget() : opts.budget;
      const all = budget?.size ?? navigator.hardwareConcurrency ?? 1;
      const threads = Math.max(1, Math.floor(opts.threads ?? all));
      s.threads = backend === "wasm" ? 1 : threads; // the wasm fallback is single-threaded
      s.#budget = budget;
      s.#urgent = !!opts.urgent;
      const copy = model.slice(); // transferred to the worker; the caller keeps its bytes
      const r = await s.#request(
        {
          id: 0,
          type: "load",
          backend,
          model: copy,
          threads,
          spinning: spinning ?? opts.spinning ?? "off",
          cuda: !!opts.cuda,
          wasmPaths: backend === "wasm" ? wasmDistUrl() : undefined,
        },
        [copy.buffer],
      );
      s.inputNames = r.inputNames ?? [];
      s.outputNames = r.outputNames ?? [];
      s.provider = r.provider ?? "";
      s.cudaError = r.cudaError;
      return s;
    } catch (err) {
      s.#worker.terminate();
      throw err;
    }
  }

  #fail(err: Error): void {
    this.#dead ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#worker.terminate();
  }

  #request(msg: WorkerRequest, transfer: Transferable[] = []): Promise<WorkerReply & { ok: true }> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /**
   * Runs the graph. Input buffers are transferred to the worker; when the run succeeds they come
   * back (each input's `data` is set again, same contents) so the caller can reuse them.
   */
  run(inputs: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    if (this.#queued >= this.maxQueued) {
      this.metrics?.inc("detector_inference_dropped_total", "Inference runs refused: queue full", {
        backend: this.backend,
      });
      return Promise.reject(new SessionError(`inference queue full (${this.maxQueued} waiting)`));
    }
    this.#queued++;
    const job = this.#chain.then(async () => {
      const release = await this.#budget?.acquire(this.threads, this.#urgent);
      try {
        const transfer = Object.values(inputs).map((t) => t.data.buffer as ArrayBuffer);
        const r = await this.#request({ id: 0, type: "run", inputs }, transfer);
        for (const [name, data] of Object.entries(r.inputs ?? {})) {
          if (inputs[name]) inputs[name].data = data;
        }
        return r.outputs ?? {};
      } finally {
        release?.();
      }
    }).finally(() => this.#queued--);
    this.#chain = job.catch(() => {});
    return job;
  }

  async dispose(): Promise<void> {
    if (this.#dead) return;
    try {
      await Promise.race([
        this.#chain.then(() => this.#request({ id: 0, type: "dispose" })),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    } catch {
      // terminating below anyway
    }
    this.#fail(new SessionError("session disposed"));
  }
}
