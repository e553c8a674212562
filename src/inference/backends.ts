/**
 * Creates sessions on the chosen backend. `auto` tries onnxruntime-node and, when the native
 * runtime cannot start on this machine, falls back to onnxruntime-web (wasm) with one log line.
 */
import { errorMessage, logger } from "../core/mod.ts";
import type { Backend, BackendSession, SessionOptions } from "./backend.ts";
import { SessionPool } from "./session_pool.ts";
import type { BackendChoice, BackendName } from "./types.ts";
import { BackendUnavailableError, MAX_QUEUED_RUNS, WorkerSession } from "./worker_session.ts";

const log = logger("inference");

function workerBackend(name: BackendName): Backend {
  return {
    name,
    async createSession(model: Uint8Array, opts: SessionOptions): Promise<BackendSession> {
      const s = await WorkerSession.create(name, model, opts);
      if (opts.cuda && s.provider !== "cuda") {
        log.warn("CUDA execution provider not available; running on CPU", {
          reason: s.cudaError ?? "native backend has no CUDA",
        });
      }
      return s;
    },
  };
}

export const nativeBackend: Backend = workerBackend("native");
export const wasmBackend: Backend = workerBackend("wasm");

let nativeBroken: string | undefined;
let nativeOff = false;

/** Treats onnxruntime-node as unavailable (`DETECTOR_NATIVE_BACKEND=off`); set once at start. */
export function disableNativeBackend(off: boolean): void {
  nativeOff = off;
}

/**
 * A session on `choice`; `auto` falls back to wasm once (logged) if native cannot start. With
 * `instances` > 1, that many sessions of the model behind one (`SessionPool`).
 */
export async function createSession(
  model: Uint8Array,
  choice: BackendChoice,
  opts: SessionOptions,
): Promise<BackendSession> {
  const n = Math.max(1, Math.floor(opts.instances ?? 1));
  const first = await createOne(model, choice, opts);
  if (n === 1) return first;
  const backend = first.backend === "native" ? nativeBackend : wasmBackend;
  const rest = await Promise.allSettled(
    Array.from({ length: n - 1 }, () => backend.createSession(model, opts)),
  );
  const sessions = [first, ...rest.flatMap((r) => r.status === "fulfilled" ? [r.value] : [])];
  const failed = rest.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.allSettled(sessions.map((s) => s.dispose()));
    throw failed.reason;
  }
  return new SessionPool(sessions, MAX_QUEUED_RUNS, opts.metrics);
}

async function createOne(
  model: Uint8Array,
  choice: BackendChoice,
  opts: SessionOptions,
): Promise<BackendSession> {
  if (choice === "wasm") return wasmBackend.createSession(model, opts);
  if (choice === "native" || nativeBroken === undefined) {
    try {
      if (nativeOff) {
        throw new BackendUnavailableError("disabled by DETECTOR_NATIVE_BACKEND=off");
      }
      return await nativeBackend.createSession(model, opts);
    } catch (err) {
      if (choice === "native" || !(err instanceof BackendUnavailableError)) throw err;
      nativeBroken = errorMessage(err);
      log.warn("native backend (onnxruntime-node) unavailable; falling back to wasm", {
        reason: nativeBroken,
      });
    }
  }
  return wasmBackend.createSession(model, opts);
}
