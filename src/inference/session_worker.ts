/// <reference lib="deno.worker" />
/**
 * Runs one ONNX session in a Worker, so inference never holds the main event loop: onnxruntime-node
 * (its `run` is synchronous in the calling thread) or onnxruntime-web (wasm).
 */
import type { TensorData } from "./backend.ts";
import type { WorkerReply, WorkerRequest } from "./session_protocol.ts";

interface OrtTensor {
  data: unknown;
  dims: readonly number[];
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => unknown;
  InferenceSession: { create(model: Uint8Array, opts: unknown): Promise<OrtSession> };
}

let ort: OrtModule | undefined;
let session: OrtSession | undefined;

function reply(msg: WorkerReply, transfer: Transferable[] = []): void {
  self.postMessage(msg, transfer);
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function load(msg: Extract<WorkerRequest, { type: "load" }>): Promise<void> {
  try {
    if (msg.backend === "native") {
      ort = (await import("onnxruntime-node")) as unknown as OrtModule;
    } else {
      const web = await import("onnxruntime-web");
      web.env.wasm.wasmPaths = msg.wasmPaths;
      // Multi-threaded wasm (nested workers on a SharedArrayBuffer) hung about one start in four
      // under Deno 2.9, spinning a core; the wasm fallback runs single-threaded.
      web.env.wasm.numThreads = 1;
      web.env.logLevel = "error";
      ort = web as unknown as OrtModule;
    }
  } catch (err) {
    return reply({ id: msg.id, ok: false, stage: "runtime", error: errText(err) });
  }
  const spin = msg.spinning === "off" ? "0" : "1";
  const base = msg.backend === "native"
    ? {
      intraOpNumThreads: msg.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
      extra: {
        session: {
          intra_op: { allow_spinning: spin },
          inter_op: { allow_spinning: spin },
          force_spinning_stop: msg.spinning === "runs" ? "1" : "0",
        },
      },
    }
    : { executionProviders: ["wasm"], graphOptimizationLevel: "all", logSeverityLevel: 3 };
  let provider = msg.backend === "native" ? "cpu" : "wasm";
  let cudaError: string | undefined;
  try {
    if (msg.backend === "native" && msg.cuda) {
      try {
        session = await ort.InferenceSession.create(msg.model, {
          ...base,
          executionProviders: ["cuda", "cpu"],
        });
        provider = "cuda";
      } catch (err) {
        cudaError = errText(err);
      }
    }
    session ??= await ort.InferenceSession.create(
      msg.model,
      msg.backend === "native" ? { ...base, executionProviders: ["cpu"] } : base,
    );
  } catch (err) {
    return reply({ id: msg.id, ok: false, stage: "model", error: errText(err) });
  }
  reply({
    id: msg.id,
    ok: true,
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    provider,
    cudaError,
  });
}

async function run(msg: Extract<WorkerRequest, { type: "run" }>): Promise<void> {
  if (!ort || !session) {
    return reply({ id: msg.id, ok: false, stage: "model", error: "session is not loaded" });
  }
  try {
    const feeds: Record<string, unknown> = {};
    for (const [name, t] of Object.entries(msg.inputs)) {
      feeds[name] = new ort.Tensor("float32", t.data, t.dims);
    }
    const result = await session.run(feeds);
    const outputs: Record<string, TensorData> = {};
    const inputs: Record<string, Float32Array> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(msg.inputs)) {
      inputs[name] = t.data;
      const buffer = t.data.buffer as ArrayBuffer;
      if (!transfer.includes(buffer)) transfer.push(buffer);
    }
    for (const [name, t] of Object.entries(result)) {
      if (!(t.data instanceof Float32Array)) {
        throw new Error(`output "${name}" is not float32`);
      }
      const data = t.data.byteOffset === 0 && t.data.byteLength === t.data.buffer.byteLength &&
          t.data.buffer instanceof ArrayBuffer
        ? t.data
        : t.data.slice();
      outputs[name] = { data, dims: [...t.dims] };
      if (!transfer.includes(data.buffer as ArrayBuffer)) transfer.push(data.buffer as ArrayBuffer);
    }
    reply({ id: msg.id, ok: true, outputs, inputs }, transfer);
  } catch (err) {
    reply({ id: msg.id, ok: false, stage: "model", error: errText(err) });
  }
}

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const msg = e.data;
  if (msg.type === "load") await load(msg);
  else if (msg.type === "run") await run(msg);
  else {
    try {
      await session?.release();
    } catch {
      // released anyway when the worker closes
    }
    session = undefined;
    reply({ id: msg.id, ok: true });
    self.close();
  }
};
