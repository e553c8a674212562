/**
 * `detector replay` throughput on a 1080p H.264 video (ffmpeg decodes and scales to raw RGB at the
 * model size, the pipeline runs on every frame) with the YOLOv8n-size model, detection only and
 * detection + two YOLOv8n-cls-size classification branches, versus ONNX Runtime session.run alone
 * on the same model and threads, measured right before and after each replay (the floor).
 * Targets, as ratios to the floor's frames/s: detection only ≥ 0.90×, with the two branches
 * ≥ 0.80×. CPU per frame is the process's (ffmpeg's decoding not included).
 *
 * Each pipeline runs with one detector instance (all threads) and with the default instances
 * (`modelInstances`: 2 on 2 cores, each with its share of the threads), one after the other.
 *
 * Models: generated (bench/lib/bench_models.ts) or DETECTOR_BENCH_DET_MODEL /
 * DETECTOR_BENCH_CLS_MODEL. DETECTOR_BENCH_SECONDS (default 8) sets the video length,
 * DETECTOR_BENCH_THREADS (default: the thread budget's choice) the threads per model,
 * DETECTOR_BENCH_ROUNDS (default 1) how many times every replay runs (interleaved; mean ratio).
 *
 * deno run -A bench/replay_bench.ts
 */
import * as ort from "onnxruntime-node";
import { loadModel } from "../src/inference/load_model.ts";
import { modelInstances } from "../src/inference/session_pool.ts";
import { zipDeterministic } from "../src/mpta/pack.ts";
import { runReplay } from "../src/replay/replay.ts";
import { Metrics } from "../src/core/metrics.ts";
import { benchClassifier, benchDetector } from "./lib/bench_models.ts";
import { cpuSeconds } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable } from "./lib/report.ts";

const seconds = Number(Deno.env.get("DETECTOR_BENCH_SECONDS") ?? 8);
const rounds = Number(Deno.env.get("DETECTOR_BENCH_ROUNDS") ?? 1);
/** Threads per model: the pipeline's own choice (thread budget) unless DETECTOR_BENCH_THREADS. */
const threadsEnv = Deno.env.get("DETECTOR_BENCH_THREADS");
const threads = Number(threadsEnv ?? navigator.hardwareConcurrency);
const MIN_CONFIDENCE = 0.25;
const TARGETS: Record<string, number> = {
  "detection only": 0.9,
  "detection + 2 classification branches": 0.8,
};

const det = (await benchDetector()).bytes;
const cls = (await benchClassifier()).bytes;

/** session.run alone: the model's own cost with these threads, ORT defaults, main thread. */
async function bareMs(): Promise<number> {
  const session = await ort.InferenceSession.create(det, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const input = new ort.Tensor("float32", new Float32Array(3 * 640 * 640).fill(0.45), [
    1,
    3,
    640,
    640,
  ]);
  for (let i = 0; i < 3; i++) await session.run({ [session.inputNames[0]]: input });
  const runs = 30;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run({ [session.inputNames[0]]: input });
  const ms = (performance.now() - t0) / runs;
  await session.release();
  return ms;
}

const dir = await Deno.makeTempDir({ prefix: "replay_bench_" });
try {
  const video = `${dir}/traffic_1080p.mp4`;
  const made = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=size=1920x1080:rate=25:duration=${seconds}`,
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-pix_fmt",
      "yuv420p",
      video,
    ],
  }).output();
  if (!made.success) throw new Error(new TextDecoder().decode(made.stderr));
  const frames = seconds * 25;

  const probe = await loadModel(det, { backend: "native", threads: 1 });
  const names = probe.classNames;
  await probe.dispose();

  const node = (extra: Record<string, unknown>) => ({
    modelId: "yolov8n_det",
    modelFile: "det.onnx",
    minConfidence: MIN_CONFIDENCE,
    triggerClasses: names,
    ...extra,
  });
  const branch = (id: string) => ({
    modelId: id,
    modelFile: "cls.onnx",
    minConfidence: MIN_CONFIDENCE,
    triggerClasses: names,
    parallel: true,
    branches: [],
  });
  const archives = {
    "detection only": { pipeline: node({}) },
    "detection + 2 classification branches": {
      pipeline: node({ branches: [branch("car_brand_cls"), branch("car_bodytype_cls")] }),
    },
  };

  const runs = new Map<
    string,
    { name: string; fps: number[]; ratio: number[]; floorMs: number[]; cpuMs: number[] }
  >();
  const notes: string[] = [];
  const instanceOptions = [...new Set([1, modelInstances(navigator.hardwareConcurrency)])];
  for (let round = 0; round < rounds; round++) {
    for (const [name, spec] of Object.entries(archives)) {
      for (const instances of instanceOptions) {
        const label = `${name}, ${instances} instance${instances > 1 ? "s" : ""}`;
        const mpta = `${dir}/${name.replace(/\W+/g, "_")}.mpta`;
        await Deno.writeFile(
          mpta,
          zipDeterministic({
            "pipeline.json": new TextEncoder().encode(JSON.stringify(spec)),
            "det.onnx": det,
            "cls.onnx": cls,
          }),
        );
        const out = `${dir}/${name.replace(/\W+/g, "_")}.jsonl`;
        // the floor right before and right after each replay, so both see the same machine load
        const floorBefore = await bareMs();
        const cpu0 = await cpuSeconds(Deno.pid);
        const { summary } = await runReplay({
          video,
          mpta,
          realtime: false,
          every: 1,
          out,
          dryRun: true,
          tracking: "bytetrack",
          sessionCooldownMs: 2000,
          spoolDir: `${dir}/spool`,
          metrics: new Metrics(),
          backend: "native",
          threads: threadsEnv ? threads : undefined,
          instances,
          size: "model",
          camera: "bench",
          display: "bench",
          drainTimeoutMs: 0,
          progress: false,
          log: { debug() {}, info() {}, warn: console.warn, error: console.error },
        });
        const cpuMs = ((await cpuSeconds(Deno.pid)) - cpu0) / summary.processed * 1000;
        const floorMs = (floorBefore + await bareMs()) / 2;
        const lines = (await Deno.readTextFile(out)).trim().split("\n").map((l) => JSON.parse(l));
        const inOrder = lines.every((l, i) => i === 0 || l.frame > lines[i - 1].frame);
        if (!inOrder) throw new Error(`${label}: output lines are not in frame order`);
        const withBranches = lines.filter((l) => Object.keys(l.branches ?? {}).length === 2).length;
        const run = runs.get(label) ??
          { name, fps: [], ratio: [], floorMs: [], cpuMs: [] };
        run.fps.push(summary.fps);
        run.ratio.push(summary.fps * floorMs / 1000);
        run.floorMs.push(floorMs);
        run.cpuMs.push(cpuMs);
        runs.set(label, run);
        if (round === rounds - 1) {
          notes.push(
            `${label}: ${summary.processed}/${frames} frames; detect p50 ${
              fixed(summary.stages.detect?.p50 ?? 0, 1)
            } ms` +
              (name.includes("branches")
                ? `, branches p50 ${
                  fixed(summary.stages.branches?.p50 ?? 0, 1)
                } ms, both branches ran on ${withBranches}/${lines.length} frames`
                : ""),
          );
        }
      }
    }
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const rows = [...runs].map(([label, r]) => {
    const target = TARGETS[r.name];
    const ratio = mean(r.ratio);
    const fps = mean(r.fps);
    const floorMs = mean(r.floorMs);
    return [
      `replay: ${label}`,
      fixed(1000 / fps, 1),
      fixed(fps, 1),
      `${fixed(1000 / floorMs, 1)} (${fixed(floorMs, 1)} ms)`,
      `${fixed(ratio, 2)}×${
        r.ratio.length > 1 ? ` (${r.ratio.map((x) => fixed(x, 2)).join(", ")})` : ""
      }`,
      `≥ ${fixed(target, 2)}×`,
      ratio >= target ? "yes" : "no",
      fixed(mean(r.cpuMs), 0),
    ];
  });

  console.log(machineLine());
  console.log(
    `1920×1080 H.264 testsrc2, ${frames} frames, ${rounds} round(s), decoded by ffmpeg to RGB at 640×360; ` +
      `${
        threadsEnv ? `${threads} threads per model` : "threads per model from the thread budget"
      }, native backend. Floor: bare session.run of the detector ` +
      `(ORT defaults, main thread), the mean of runs right before and right after each replay.\n`,
  );
  console.log(markdownTable(
    [
      "what",
      "ms/frame",
      "frames/s",
      "floor frames/s",
      "ratio",
      "target",
      "met",
      "CPU ms/frame",
    ],
    rows,
  ));
  console.log("");
  for (const n of notes) console.log(`- ${n}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
