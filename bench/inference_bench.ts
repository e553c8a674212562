/**
 * Inference benchmark: ONNX Runtime session.run alone (the floor) versus the full path (1080p
 * JPEG → sharp letterbox → session in its Worker → decoded boxes), per backend and thread count;
 * median and p95 in ms, as a markdown table, then the target: full path ≤ 1.15× session.run,
 * measured with the two taking turns run by run (same load for both).
 *
 * Models: generated YOLOv8n- and YOLOv8n-cls-size graphs (bench/lib/bench_models.ts), or
 * DETECTOR_BENCH_DET_MODEL / DETECTOR_BENCH_CLS_MODEL. Frame: a 1080p ffmpeg testsrc2 JPEG or
 * DETECTOR_BENCH_FRAME. Iterations: DETECTOR_BENCH_ITERS (default 15, after 3 warm-ups).
 * DETECTOR_BENCH_INTERLEAVED_ONLY=1: only the interleaved target measurement.
 */
import * as ortNode from "onnxruntime-node";
import type { BackendSession } from "../src/inference/backend.ts";
import { createSession } from "../src/inference/backends.ts";
import { loadModel } from "../src/inference/load_model.ts";
import { letterbox, resizeForClassify } from "../src/inference/preprocess.ts";
import type { BackendName, Model } from "../src/inference/types.ts";
import { benchClassifier, benchDetector, benchFrame } from "./lib/bench_models.ts";
import { machineLine } from "./lib/report.ts";

const iters = Number(Deno.env.get("DETECTOR_BENCH_ITERS") ?? 15);
const warmup = 3;
const FULL_PATH_TARGET = 1.15;

function stats(samples: number[]): { median: number; p95: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return { median: at(0.5), p95: at(0.95) };
}

async function time(fn: () => Promise<unknown>): Promise<{ median: number; p95: number }> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return stats(samples);
}

interface Row {
  model: string;
  backend: string;
  threads: number;
  what: string;
  median: number;
  p95: number;
  note?: string;
}

const rows: Row[] = [];
const fmt = (n: number) => n.toFixed(1);

const det = await benchDetector();
const cls = await benchClassifier();
const { jpeg: frame, origin: frameNote } = await benchFrame();
console.log(machineLine());
console.log(
  `detector: ${det.origin} (${det.path}); classifier: ${cls.origin} (${cls.path})
` +
    `frame: ${frameNote} (${frame.length} bytes); ${iters} runs after ${warmup} warm-ups\n`,
);

const models: { name: string; bytes: Uint8Array; size: number; task: "detect" | "classify" }[] = [
  { name: "yolov8n 640", bytes: det.bytes, size: 640, task: "detect" },
  { name: "yolov8n-cls 224", bytes: cls.bytes, size: 224, task: "classify" },
];
const floors = new Map<string, number>();

const image = { jpeg: frame };

/** The table: every model, backend and thread count (skipped with DETECTOR_BENCH_INTERLEAVED_ONLY=1). */
async function table(): Promise<void> {
  // pre-processing alone (sharp decode + letterbox/resize + float conversion)
  for (const m of models) {
    const r = await time(() =>
      m.task === "detect"
        ? letterbox(image, m.size, m.size)
        : resizeForClassify(image, m.size, m.size)
    );
    rows.push({ model: m.name, backend: "-", threads: 0, what: "pre-process (sharp)", ...r });
  }

  // raw onnxruntime-node in this thread: the floor
  for (const m of models) {
    for (const threads of [1, 2]) {
      const s = await ortNode.InferenceSession.create(m.bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: "all",
      });
      const input = new ortNode.Tensor("float32", new Float32Array(3 * m.size * m.size).fill(0.5), [
        1,
        3,
        m.size,
        m.size,
      ]);
      const r = await time(() => s.run({ [s.inputNames[0]]: input }));
      floors.set(`${m.name}/${threads}`, r.median);
      rows.push({
        model: m.name,
        backend: "native",
        threads,
        what: "ort session.run, main thread",
        ...r,
      });
      await s.release();
    }
  }

  for (const backend of ["native", "wasm"] as BackendName[]) {
    for (const m of models) {
      for (const threads of [1, 2]) {
        let session: BackendSession | undefined;
        let model: Model | undefined;
        try {
          session = await createSession(m.bytes, backend, { threads });
          const s = session;
          const run = await time(() =>
            s.run({
              [s.inputNames[0]]: {
                data: new Float32Array(3 * m.size * m.size).fill(0.5),
                dims: [1, 3, m.size, m.size],
              },
            })
          );
          rows.push({ model: m.name, backend, threads, what: "session.run (Worker)", ...run });
          model = await loadModel(m.bytes, { backend, threads });
          const mm = model;
          const full = await time(() =>
            mm.task === "detect" ? mm.detect(image, { minConfidence: 0.25 }) : mm.classify(image)
          );
          rows.push({
            model: m.name,
            backend,
            threads,
            what: m.task === "detect" ? "full: 1080p JPEG → boxes" : "full: 1080p JPEG → top-1",
            ...full,
            note: `${(full.median / run.median).toFixed(2)}× Worker run, ${
              (full.median / (floors.get(`${m.name}/${threads}`) ?? NaN)).toFixed(2)
            }× bare run`,
          });
        } catch (err) {
          rows.push({
            model: m.name,
            backend,
            threads,
            what: "failed",
            median: NaN,
            p95: NaN,
            note: err instanceof Error ? err.message : String(err),
          });
        } finally {
          await session?.dispose();
          await model?.dispose();
        }
      }
    }
  }

  console.log("| model | backend | threads | measured | median ms | p95 ms | note |");
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    console.log(
      `| ${r.model} | ${r.backend} | ${r.threads || "-"} | ${r.what} | ${fmt(r.median)} | ${
        fmt(r.p95)
      } | ${r.note ?? ""} |`,
    );
  }
}

if (Deno.env.get("DETECTOR_BENCH_INTERLEAVED_ONLY") !== "1") await table();
console.log("");
// The target, measured interleaved: bare session.run and the full path take turns, run by run,
// so that both see the same machine load; ratio of the medians.
for (const threads of [1, 2]) {
  const bare = await ortNode.InferenceSession.create(det.bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const model = await loadModel(det.bytes, { backend: "native", threads });
  try {
    if (model.task !== "detect") throw new Error("the benchmark detector is not a detector");
    const input = new ortNode.Tensor("float32", new Float32Array(3 * 640 * 640).fill(0.5), [
      1,
      3,
      640,
      640,
    ]);
    const floor: number[] = [];
    const full: number[] = [];
    for (let i = 0; i < warmup + iters * 2; i++) {
      let t = performance.now();
      await bare.run({ [bare.inputNames[0]]: input });
      const b = performance.now() - t;
      t = performance.now();
      await model.detect(image, { minConfidence: 0.25 });
      const f = performance.now() - t;
      if (i >= warmup) {
        floor.push(b);
        full.push(f);
      }
    }
    const fl = stats(floor).median;
    const fu = stats(full).median;
    const ratio = fu / fl;
    console.log(
      `target, ${threads} thread(s), interleaved ×${iters * 2}: full path 1080p JPEG → boxes ` +
        `${fmt(fu)} ms = ${ratio.toFixed(2)}× bare session.run ${fmt(fl)} ms ` +
        `(target ≤ ${FULL_PATH_TARGET}×): ${ratio <= FULL_PATH_TARGET ? "met" : "not met"}`,
    );
  } finally {
    await bare.release();
    await model.dispose();
  }
}
