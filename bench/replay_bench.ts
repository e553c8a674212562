/**
 * `detector replay` throughput on a 1080p H.264 video (ffmpeg decodes and scales to raw RGB at the
 * model size, the pipeline runs on every frame) with the YOLOv8n-size model, detection only and
 * detection + two classification branches, versus ONNX Runtime session.run alone on the same
 * model and threads. Targets (issue 6): detection-only ≥ 1.3× what PyTorch does with the model
 * alone (47 ms/frame with 2 threads on the development machine → ≥ 27.7 frames/s), with the two
 * branches ≥ 1.2× (≥ 25.5 frames/s).
 *
 * Models: ../shared/models/yolov8n-arch-640.onnx and yolov8n-cls-arch-224.onnx (random weights,
 * real compute), or DETECTOR_BENCH_DET_MODEL / DETECTOR_BENCH_CLS_MODEL; skipped with a message
 * when absent. DETECTOR_BENCH_SECONDS (default 8) sets the video length, DETECTOR_BENCH_THREADS
 * (default 2) the inference threads.
 *
 * deno run -A bench/replay_bench.ts
 */
import * as ort from "onnxruntime-node";
import { loadModel } from "../src/inference/load_model.ts";
import { zipDeterministic } from "../src/mpta/pack.ts";
import { runReplay } from "../src/replay/replay.ts";
import { Metrics } from "../src/core/metrics.ts";
import { fixed, machineLine, markdownTable } from "./lib/report.ts";

const root = new URL("../", import.meta.url).pathname;
const detPath = Deno.env.get("DETECTOR_BENCH_DET_MODEL") ??
  `${root}../shared/models/yolov8n-arch-640.onnx`;
const clsPath = Deno.env.get("DETECTOR_BENCH_CLS_MODEL") ??
  `${root}../shared/models/yolov8n-cls-arch-224.onnx`;
const seconds = Number(Deno.env.get("DETECTOR_BENCH_SECONDS") ?? 8);
const threads = Number(Deno.env.get("DETECTOR_BENCH_THREADS") ?? 2);
const PYTORCH_MS = 47;
const MIN_CONFIDENCE = 0.25;

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch {
    return undefined;
  }
}

const det = await readOptional(detPath);
const cls = await readOptional(clsPath);
if (!det || !cls) {
  console.log(`skipped: models not found (${detPath}, ${clsPath})`);
  Deno.exit(0);
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

  // session.run alone: the model's own cost with these threads
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
  const runMs = (performance.now() - t0) / runs;
  await session.release();

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

  const rows: (string | number)[][] = [[
    "session.run alone (640×640)",
    fixed(runMs, 1),
    fixed(1000 / runMs, 1),
    "",
    "",
  ]];
  const targets: Record<string, number> = {
    "detection only": 1.3 * 1000 / PYTORCH_MS,
    "detection + 2 classification branches": 1.2 * 1000 / PYTORCH_MS,
  };
  const notes: string[] = [];
  for (const [name, spec] of Object.entries(archives)) {
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
      threads,
      size: "model",
      camera: "bench",
      display: "bench",
      drainTimeoutMs: 0,
      progress: false,
      log: { debug() {}, info() {}, warn: console.warn, error: console.error },
    });
    const lines = (await Deno.readTextFile(out)).trim().split("\n").map((l) => JSON.parse(l));
    const withBranches = lines.filter((l) => Object.keys(l.branches ?? {}).length === 2).length;
    const target = targets[name];
    rows.push([
      `replay: ${name}`,
      fixed(1000 / summary.fps, 1),
      fixed(summary.fps, 1),
      `≥ ${fixed(target, 1)}`,
      summary.fps >= target ? "yes" : "no",
    ]);
    notes.push(
      `${name}: ${summary.processed}/${frames} frames; detect p50 ${
        fixed(summary.stages.detect?.p50 ?? 0, 1)
      } ms` +
        (name.includes("branches")
          ? `, branches p50 ${
            fixed(summary.stages.branches?.p50 ?? 0, 1)
          } ms, both branches ran on ${withBranches}/${lines.length} frames`
          : ""),
    );
  }

  console.log(machineLine());
  console.log(
    `1920×1080 H.264 testsrc2, ${frames} frames, decoded by ffmpeg to RGB at 640×360; ` +
      `${threads} inference threads, native backend. PyTorch reference: ${PYTORCH_MS} ms/frame.\n`,
  );
  console.log(markdownTable(["what", "ms/frame", "frames/s", "target frames/s", "met"], rows));
  console.log("");
  for (const n of notes) console.log(`- ${n}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
