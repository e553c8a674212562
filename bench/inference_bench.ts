/**
 * Inference benchmark: ONNX Runtime session.run alone (the floor) versus the full path (1080p
 * JPEG → letterbox → session in its Worker → decoded boxes), per backend and thread count;
 * median and p95 in ms, as a markdown table. Then the full path as a ratio to bare session.run,
 * the two taking turns in blocks (same load for both), for one frame at a time and for a stream
 * (the next frame pre-processed while the current one runs, as `replay` does), with one instance
 * of 1 thread, of every core (threads asleep between layers as in `run` and `replay`, and
 * spinning while a run lasts as in `detect`), and the default instances; target: ≤ 1.15×, judged
 * one frame at a time for the way `detect` loads the detector and as a stream for the way `run` and
 * `replay` do.
 * JPEGs are decoded as the program does: libturbojpeg when the system has it, else sharp
 * (DETECTOR_TURBOJPEG=off: sharp only); the pre-processing rows show both.
 *
 * Models: generated YOLOv8n- and YOLOv8n-cls-size graphs (bench/lib/bench_models.ts), or
 * DETECTOR_BENCH_DET_MODEL / DETECTOR_BENCH_CLS_MODEL. Frame: a 1080p ffmpeg testsrc2 JPEG or
 * DETECTOR_BENCH_FRAME. DETECTOR_BENCH_ITERS (default 15): runs per table row (after 3 warm-ups)
 * and rounds of the turn-taking ratios.
 * DETECTOR_BENCH_INTERLEAVED_ONLY=1: only the turn-taking ratios.
 */
import * as ortNode from "onnxruntime-node";
import type { BackendSession } from "../src/inference/backend.ts";
import { createSession } from "../src/inference/backends.ts";
import { loadModel } from "../src/inference/load_model.ts";
import { letterbox, resizeForClassify } from "../src/inference/preprocess.ts";
import { setTurboJpeg, turboJpegActive } from "../src/inference/turbojpeg.ts";
import { modelInstances } from "../src/inference/session_pool.ts";
import { ONE_IMAGE } from "../src/cli/detect.ts";
import type {
  BackendName,
  Detection,
  DetectionModel,
  Model,
  PreparedImage,
  SpinPolicy,
} from "../src/inference/types.ts";
import { benchClassifier, benchDetector, benchFrame } from "./lib/bench_models.ts";
import { machineLine, markdownTable } from "./lib/report.ts";

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

/** Bare session.run of a model on the main thread, ONNX Runtime's defaults: the floor. */
async function bareSession(bytes: Uint8Array, size: number, threads: number) {
  const s = await ortNode.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const input = new ortNode.Tensor("float32", new Float32Array(3 * size * size).fill(0.5), [
    1,
    3,
    size,
    size,
  ]);
  return {
    /** Mean ms per run over `runs` runs one after the other. */
    async ms(runs: number): Promise<number> {
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) await s.run({ [s.inputNames[0]]: input });
      return (performance.now() - t0) / runs;
    },
    release: () => s.release(),
  };
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

const turbojpeg = Deno.env.get("DETECTOR_TURBOJPEG") || "auto";
setTurboJpeg(turbojpeg);
const decoder = turboJpegActive() ? "libturbojpeg" : "sharp";
const det = await benchDetector();
const cls = await benchClassifier();
const { jpeg: frame, origin: frameNote } = await benchFrame();
console.log(machineLine());
console.log(
  `detector: ${det.origin} (${det.path}); classifier: ${cls.origin} (${cls.path})
` +
    `frame: ${frameNote} (${frame.length} bytes), decoded by ${decoder}; ` +
    `${iters} runs after ${warmup} warm-ups\n`,
);

const models: { name: string; bytes: Uint8Array; size: number; task: "detect" | "classify" }[] = [
  { name: "yolov8n 640", bytes: det.bytes, size: 640, task: "detect" },
  { name: "yolov8n-cls 224", bytes: cls.bytes, size: 224, task: "classify" },
];
const floors = new Map<string, number>();

const image = { jpeg: frame };

/** The table: every model, backend and thread count (skipped with DETECTOR_BENCH_INTERLEAVED_ONLY=1). */
async function table(): Promise<void> {
  // pre-processing alone (decode + letterbox/resize + float conversion), into one tensor reused
  // frame after frame as the models do; with each decoder the program can use
  for (const by of decoder === "sharp" ? ["sharp"] : ["libturbojpeg", "sharp"]) {
    setTurboJpeg(by === "sharp" ? "off" : turbojpeg);
    for (const m of models) {
      const tensor = new Float32Array(3 * m.size * m.size);
      const r = await time(() =>
        m.task === "detect"
          ? letterbox(image, m.size, m.size, tensor)
          : resizeForClassify(image, m.size, m.size, tensor)
      );
      rows.push({ model: m.name, backend: "-", threads: 0, what: `pre-process (${by})`, ...r });
    }
  }
  setTurboJpeg(turbojpeg);

  // raw onnxruntime-node in this thread: the floor
  for (const m of models) {
    for (const threads of [1, 2]) {
      const bare = await bareSession(m.bytes, m.size, threads);
      const r = await time(() => bare.ms(1));
      floors.set(`${m.name}/${threads}`, r.median);
      rows.push({
        model: m.name,
        backend: "native",
        threads,
        what: "ort session.run, main thread",
        ...r,
      });
      await bare.release();
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

const detectOpts = { minConfidence: 0.25 };

/** One frame at a time: decode, letterbox, run and boxes, one after the other. */
async function oneFrameMs(model: DetectionModel, frames: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) await model.detect(image, detectOpts);
  return (performance.now() - t0) / frames;
}

/**
 * A stream of frames fed as `replay` feeds the root model (`FrameRunner.prepare`): the
 * model's `parallelRuns` frames ahead, each decoded and letterboxed while earlier ones run; with
 * several instances their detections start ahead too. Milliseconds per frame once the stream
 * runs: timed from the first frame's boxes to the last's.
 */
async function streamMs(model: DetectionModel, frames: number): Promise<number> {
  const n = Math.max(1, model.parallelRuns ?? 1);
  const start = (): Promise<PreparedImage | Detection[]> => {
    const prepared = model.prepare!(image);
    return n > 1 ? prepared.then((p) => model.detectPrepared!(p, detectOpts)) : prepared;
  };
  const total = frames + 1;
  let t0 = 0;
  const ahead = Array.from({ length: Math.min(n, total) }, start);
  for (let i = 0; i < total; i++) {
    const current = await ahead.shift()!;
    if (i + n < total) ahead.push(start());
    if (n === 1) await model.detectPrepared!(current as PreparedImage, detectOpts);
    if (i === 0) t0 = performance.now();
  }
  return (performance.now() - t0) / frames;
}

// The full path against bare session.run, in blocks that take turns round by round (so all
// three see the same machine load), each block after one untimed frame (a stream's block: BLOCK
// frames per instance); the median of the rounds.
const BLOCK = 4;
const cores = navigator.hardwareConcurrency;
const instances = modelInstances(cores);
const threadsEach = Math.max(1, Math.floor(cores / instances));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
type Judged = "one frame" | "stream";
/**
 * One instance with 1 thread and with every core (threads asleep between layers, as `run` and
 * `replay` load it, and spinning while a run lasts, as `detect` does), then the default instances.
 * The target is judged where a command works that way: `detect` answers one image at a time,
 * `run` and `replay` feed the default instances a stream; the other rows are for comparison.
 */
const setups = new Map<string, {
  instances: number;
  threads: number;
  floorThreads: number;
  spinning: SpinPolicy;
  judged: Set<Judged>;
  label: string;
}>();
for (
  const s of [
    { instances: 1, threads: 1, spinning: "off", judged: [] },
    { instances: 1, threads: cores, spinning: "off", judged: [] },
    { instances: 1, threads: cores, spinning: ONE_IMAGE.spinning, judged: ["one frame"] },
    { instances, threads: threadsEach, spinning: "off", judged: ["stream"] },
  ] as { instances: number; threads: number; spinning: SpinPolicy; judged: Judged[] }[]
) {
  const spinning = s.threads > 1 ? s.spinning : "off"; // one thread has no pool to spin
  const key = `${s.instances}×${s.threads}/${spinning}`;
  const setup = setups.get(key) ?? {
    ...s,
    spinning,
    floorThreads: s.instances > 1 ? cores : s.threads,
    judged: new Set<Judged>(),
    label: `${plural(s.instances, "instance")} × ${plural(s.threads, "thread")}` +
      (spinning === "off" ? "" : `, spinning: ${spinning}`),
  };
  for (const j of s.judged) setup.judged.add(j);
  setups.set(key, setup);
}
const usedBy = (judged: Set<Judged>) =>
  [judged.has("one frame") ? "`detect`" : "", judged.has("stream") ? "`run`, `replay`" : ""]
    .filter(Boolean).join("; ") || "—";
const verdict = (judged: Set<Judged>, what: Judged, ratio: number) =>
  judged.has(what) ? (ratio <= FULL_PATH_TARGET ? "met" : "not met") : "—";
const lines: string[][] = [];
for (const setup of setups.values()) {
  const bare = await bareSession(det.bytes, 640, setup.floorThreads);
  const model = await loadModel(det.bytes, {
    backend: "native",
    threads: setup.threads,
    instances: setup.instances,
    spinning: setup.spinning,
  });
  try {
    if (model.task !== "detect") throw new Error("the benchmark detector is not a detector");
    const floor: number[] = [];
    const one: number[] = [];
    const stream: number[] = [];
    for (let r = 0; r < iters; r++) {
      await bare.ms(1);
      floor.push(await bare.ms(BLOCK));
      await oneFrameMs(model, 1);
      one.push(await oneFrameMs(model, BLOCK));
      stream.push(await streamMs(model, BLOCK * Math.max(1, setup.instances)));
    }
    const fl = stats(floor).median;
    const on = stats(one).median;
    const st = stats(stream).median;
    lines.push([
      setup.label,
      `${setup.floorThreads}`,
      fmt(fl),
      fmt(on),
      `${(on / fl).toFixed(2)}×`,
      fmt(st),
      `${(st / fl).toFixed(2)}×`,
      usedBy(setup.judged),
      `${verdict(setup.judged, "one frame", on / fl)} / ${
        verdict(setup.judged, "stream", st / fl)
      }`,
    ]);
  } finally {
    await bare.release();
    await model.dispose();
  }
}
console.log(
  `full path 1080p JPEG → boxes against bare session.run, ${iters} rounds of ${BLOCK} frames ` +
    `taking turns (median of the rounds; JPEG decoded by ${decoder}; target: ≤ ${FULL_PATH_TARGET}× ` +
    "one frame at a time / as a stream)",
);
console.log(markdownTable(
  [
    "detector",
    "bare threads",
    "bare session.run ms",
    "one frame at a time ms",
    "× bare",
    "stream ms/frame",
    "× bare",
    "how a command runs it",
    "target (one / stream)",
  ],
  lines,
));
