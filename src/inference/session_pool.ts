/**
 * Several instances of one model, each a session with its own threads, behind one
 * `BackendSession`: a run goes to the instance with the fewest runs waiting, so instances run
 * different frames at once. On few cores, N single-threaded instances give more frames/s than one
 * N-threaded session (intra-op parallelism of a small model scales worse than whole runs side by
 * side); each instance costs its own memory (weights and arena).
 */
import type { Metrics } from "../core/mod.ts";
import type { BackendSession, TensorData } from "./backend.ts";
import { SessionError } from "./worker_session.ts";

export class SessionPool implements BackendSession {
  readonly backend;
  readonly inputNames;
  readonly outputNames;
  #load: number[];
  #queued = 0;

  constructor(
    readonly sessions: readonly BackendSession[],
    readonly maxQueued: number,
    private readonly metrics?: Metrics,
  ) {
    if (sessions.length === 0) throw new Error("a session pool needs at least one instance");
    this.backend = sessions[0].backend;
    this.inputNames = sessions[0].inputNames;
    this.outputNames = sessions[0].outputNames;
    this.#load = sessions.map(() => 0);
  }

  get parallelRuns(): number {
    return this.sessions.length;
  }

  /** Runs the graph on the least busy instance; input buffers are transferred. */
  async run(inputs: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    if (this.#queued >= this.maxQueued) {
      this.metrics?.inc("detector_inference_dropped_total", "Inference runs refused: queue full", {
        backend: this.backend,
      });
      throw new SessionError(`inference queue full (${this.maxQueued} waiting)`);
    }
    let i = 0;
    for (let j = 1; j < this.#load.length; j++) if (this.#load[j] < this.#load[i]) i = j;
    this.#queued++;
    this.#load[i]++;
    try {
      return await this.sessions[i].run(inputs);
    } finally {
      this.#load[i]--;
      this.#queued--;
    }
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.sessions.map((s) => s.dispose()));
  }
}

let configured: number | undefined;

/** Instances of each pipeline's root model (`DETECTOR_MODEL_INSTANCES`); set once at start. */
export function setModelInstances(n: number | undefined): void {
  configured = n === undefined ? undefined : Math.max(1, Math.floor(n));
}

/**
 * Instances of a model that runs every frame, for a thread budget of `cores`: one per core up to
 * 2 cores, then one per 2 cores up to 4 instances (each extra instance is memory; beyond 4,
 * more threads per instance), unless set with `setModelInstances`.
 */
export function modelInstances(cores: number): number {
  if (configured !== undefined) return configured;
  const n = Math.max(1, Math.floor(cores));
  return n <= 2 ? n : Math.min(4, Math.floor(n / 2));
}
