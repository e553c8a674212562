/**
 * How the ONNX sessions of one process should share the cores: one frame = the YOLOv8n-size
 * detector, then two YOLOv8n-cls-size classifiers (the branches), as `replay` and `run` do with a
 * two-branch pipeline. Options compared back to back in one process, each as frames/s and as a
 * ratio to the bare detector (session.run alone, on the main thread, same threads):
 * intra-op spinning on/off, threads per session, branches sequential or parallel, the thread
 * budget (runs wait for free cores) on/off, one frame in flight or two (the next frame's detector
 * queued while this frame's branches run), sessions in Workers or on the main thread, and
 * instances of the detector (N sessions of T threads each, N frames' detections at once, the
 * branches of one frame while the next frames are detected, as `replay` does). Also the memory
 * (RSS) each extra detector instance costs.
 *
 * deno run -A bench/threads_bench.ts [--frames 30] [--rounds 2] [--only "<text>|<text>…"]
 * (--only: the options whose name contains one of the texts)
 */
import * as ort from "onnxruntime-node";
import type { BackendSession } from "../src/inference/backend.ts";
import { createSession } from "../src/inference/backends.ts";
import { ThreadBudget } from "../src/inference/thread_budget.ts";
import type { SpinPolicy } from "../src/inference/types.ts";
import { arg } from "./lib/args.ts";
import { benchClassifier, benchDetector } from "./lib/bench_models.ts";
import { cpuSeconds } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable } from "./lib/report.ts";

const frames = Number(arg("frames", "30"));
const only = arg("only", "");
const rounds = Number(arg("rounds", "2"));
const cores = navigator.hardwareConcurrency;
const det = await benchDetector();
const cls = await benchClassifier();

interface Option {
  name: string;
  spinning: SpinPolicy;
  detThreads: number;
  clsThreads: number;
  branches: "sequential" | "parallel" | "none";
  budget: boolean;
  inFlight: 1 | 2;
  mainThread?: boolean;
  /** Detector instances (default 1); with more, detections are started ahead as replay does. */
  instances?: number;
}

/** N instances × T threads for the cores: 2 × cores/2 and one per core (when different). */
const instanceSplits = [...new Set([2, cores])].filter((n) => n >= 2 && n <= cores);

const allOptions: Option[] = [
  {
    name: "detector alone, spinning on",
    spinning: "on",
    detThreads: cores,
    clsThreads: cores,
    branches: "none",
    budget: false,
    inFlight: 1,
  },
  {
    name: "detector alone, spinning off",
    spinning: "off",
    detThreads: cores,
    clsThreads: cores,
    branches: "none",
    budget: false,
    inFlight: 1,
  },
  {
    name: "all threads each, spinning on, parallel branches (before)",
    spinning: "on",
    detThreads: cores,
    clsThreads: cores,
    branches: "parallel",
    budget: false,
    inFlight: 1,
  },
  {
    name: "all threads each, spinning off, parallel branches",
    spinning: "off",
    detThreads: cores,
    clsThreads: cores,
    branches: "parallel",
    budget: false,
    inFlight: 1,
  },
  {
    name: "all threads each, spinning off, sequential branches",
    spinning: "off",
    detThreads: cores,
    clsThreads: cores,
    branches: "sequential",
    budget: false,
    inFlight: 1,
  },
  {
    name: "classifiers 1 thread, spinning off, parallel branches",
    spinning: "off",
    detThreads: cores,
    clsThreads: 1,
    branches: "parallel",
    budget: false,
    inFlight: 1,
  },
  {
    name: "classifiers 1 thread, spinning off, parallel, budget",
    spinning: "off",
    detThreads: cores,
    clsThreads: 1,
    branches: "parallel",
    budget: true,
    inFlight: 1,
  },
  {
    name: "all threads each, spinning off, parallel, budget",
    spinning: "off",
    detThreads: cores,
    clsThreads: cores,
    branches: "parallel",
    budget: true,
    inFlight: 1,
  },
  {
    name: "all threads each, spinning on, parallel, 2 frames in flight",
    spinning: "on",
    detThreads: cores,
    clsThreads: cores,
    branches: "parallel",
    budget: false,
    inFlight: 2,
  },
  {
    name: "classifiers 1 thread, spinning off, parallel, budget, 2 frames in flight",
    spinning: "off",
    detThreads: cores,
    clsThreads: 1,
    branches: "parallel",
    budget: true,
    inFlight: 2,
  },
  {
    name: "all threads each, spinning off, parallel, budget, 2 frames in flight",
    spinning: "off",
    detThreads: cores,
    clsThreads: cores,
    branches: "parallel",
    budget: true,
    inFlight: 2,
  },
  ...instanceSplits.flatMap((n): Option[] => {
    const t = Math.max(1, Math.floor(cores / n));
    return [
      {
        name: `detector ${n} instances × ${t} thread${t > 1 ? "s" : ""}, alone`,
        spinning: "off",
        detThreads: t,
        clsThreads: 1,
        branches: "none",
        budget: true,
        inFlight: 2,
        instances: n,
      },
      {
        name: `detector ${n} instances × ${t} thread${t > 1 ? "s" : ""}, ` +
          "classifiers 1 thread, parallel, budget, detection ahead",
        spinning: "off",
        detThreads: t,
        clsThreads: 1,
        branches: "parallel",
        budget: true,
        inFlight: 2,
        instances: n,
      },
    ];
  }),
  {
    name: "main thread (no Workers), spinning off, sequential",
    spinning: "off",
    detThreads: cores,
    clsThreads: cores,
    branches: "sequential",
    budget: false,
    inFlight: 1,
    mainThread: true,
  },
];

/** `--only "a|b"`: the options whose name contains one of these texts. */
const options = allOptions.filter((o) => only.split("|").some((t) => o.name.includes(t)));

const detInput = () => ({
  data: new Float32Array(3 * 640 * 640).fill(0.45),
  dims: [1, 3, 640, 640],
});
const clsInput = () => ({
  data: new Float32Array(3 * 224 * 224).fill(0.45),
  dims: [1, 3, 224, 224],
});

/** Sessions on the main thread, with the BackendSession shape (runs block the event loop). */
async function mainThreadSession(
  bytes: Uint8Array,
  threads: number,
  spinning: SpinPolicy,
): Promise<BackendSession> {
  const flag = spinning === "off" ? "0" : "1";
  const s = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    extra: {
      session: { intra_op: { allow_spinning: flag }, inter_op: { allow_spinning: flag } },
    },
  });
  return {
    backend: "native",
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(inputs) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [k, t] of Object.entries(inputs)) {
        feeds[k] = new ort.Tensor("float32", t.data, t.dims);
      }
      const out = await s.run(feeds);
      const r: Record<string, { data: Float32Array; dims: number[] }> = {};
      for (const [k, t] of Object.entries(out)) {
        r[k] = { data: t.data as Float32Array, dims: [...t.dims] };
      }
      return r;
    },
    dispose: () => s.release(),
  };
}

async function measure(o: Option): Promise<{ fps: number; cpuPerFrame: number }> {
  const budget = o.budget ? new ThreadBudget(cores) : null;
  const make = (bytes: Uint8Array, threads: number, instances = 1) =>
    o.mainThread
      ? mainThreadSession(bytes, threads, o.spinning)
      : createSession(bytes, "native", { threads, spinning: o.spinning, budget, instances });
  const instances = o.instances ?? 1;
  const d = await make(det.bytes, o.detThreads, instances);
  const c1 = await make(cls.bytes, o.clsThreads);
  const c2 = await make(cls.bytes, o.clsThreads);
  const frame = async () => {
    await d.run({ images: detInput() });
    if (o.branches === "parallel") {
      await Promise.all([c1.run({ images: clsInput() }), c2.run({ images: clsInput() })]);
    } else if (o.branches === "sequential") {
      await c1.run({ images: clsInput() });
      await c2.run({ images: clsInput() });
    }
  };
  try {
    for (let i = 0; i < 2; i++) await frame();
    const cpu0 = await cpuSeconds(Deno.pid);
    const t0 = performance.now();
    if (o.inFlight === 1) {
      for (let i = 0; i < frames; i++) await frame();
    } else if (instances > 1) {
      // replay's way: one frame per instance detected ahead; each frame's branches in order,
      // while the following frames are detected
      const detect = () => d.run({ images: detInput() });
      const ahead = Array.from({ length: Math.min(instances, frames) }, detect);
      for (let i = 0; i < frames; i++) {
        await ahead.shift();
        if (i + instances < frames) ahead.push(detect());
        if (o.branches !== "none") {
          await Promise.all([c1.run({ images: clsInput() }), c2.run({ images: clsInput() })]);
        }
      }
    } else {
      // a new frame starts as soon as the previous one's detector is done (its branches may
      // still run): at most two frames in flight, as a pipelined reader would do
      let previous: Promise<void> = Promise.resolve();
      for (let i = 0; i < frames; i++) {
        const detected = d.run({ images: detInput() });
        await detected;
        const branches = o.branches === "none"
          ? Promise.resolve()
          : Promise.all([c1.run({ images: clsInput() }), c2.run({ images: clsInput() })]);
        await previous;
        previous = branches.then(() => {});
      }
      await previous;
    }
    const elapsed = (performance.now() - t0) / 1000;
    return {
      fps: frames / elapsed,
      cpuPerFrame: ((await cpuSeconds(Deno.pid)) - cpu0) / frames * 1000,
    };
  } finally {
    await Promise.all([d.dispose(), c1.dispose(), c2.dispose()]);
  }
}

/** The floor: bare session.run of the detector on the main thread, no Worker, no budget. */
async function bare(): Promise<number> {
  const s = await ort.InferenceSession.create(det.bytes, {
    intraOpNumThreads: cores,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  const input = new ort.Tensor("float32", new Float32Array(3 * 640 * 640).fill(0.45), [
    1,
    3,
    640,
    640,
  ]);
  try {
    for (let i = 0; i < 2; i++) await s.run({ [s.inputNames[0]]: input });
    const t0 = performance.now();
    for (let i = 0; i < frames; i++) await s.run({ [s.inputNames[0]]: input });
    return frames / ((performance.now() - t0) / 1000);
  } finally {
    await s.release();
  }
}

/** RSS growth (MB) of the first detector session and of each next instance, after a run each. */
async function instanceMemory(n: number): Promise<{ first: number; extra: number }> {
  const sessions: BackendSession[] = [];
  const rss = [Deno.memoryUsage().rss];
  try {
    for (let i = 0; i < n; i++) {
      const s = await createSession(det.bytes, "native", { threads: 1, budget: null });
      sessions.push(s);
      await s.run({ images: detInput() });
      rss.push(Deno.memoryUsage().rss);
    }
  } finally {
    await Promise.all(sessions.map((s) => s.dispose()));
  }
  const mb = (b: number) => b / 2 ** 20;
  return { first: mb(rss[1] - rss[0]), extra: mb(rss[n] - rss[1]) / (n - 1) };
}

const memory = await instanceMemory(3);
const results = new Map<string, { fps: number[]; ratio: number[]; cpu: number[] }>();
// The floor is measured between options, and each option is compared with the floors right
// before and after it: the load of a shared machine changes within a run.
const floors: number[] = [await bare()];
for (let r = 0; r < rounds; r++) {
  for (const o of options) {
    console.error(`round ${r + 1}/${rounds}: ${o.name}`);
    const m = await measure(o);
    const before = floors[floors.length - 1];
    floors.push(await bare());
    const entry = results.get(o.name) ?? { fps: [], ratio: [], cpu: [] };
    entry.fps.push(m.fps);
    entry.ratio.push(m.fps / ((before + floors[floors.length - 1]) / 2));
    entry.cpu.push(m.cpuPerFrame);
    results.set(o.name, entry);
  }
}
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const floor = mean(floors);

console.log(machineLine());
console.log(
  `detector ${det.origin} (${det.path}), classifier ${cls.origin}; ${frames} frames per option, ` +
    `${rounds} rounds (mean); floor: bare detector session.run, ${cores} threads, main thread, ` +
    "measured between options (each option's ratio is to the floors before and after it): " +
    `${fixed(floor, 1)} frames/s (${fixed(1000 / floor, 1)} ms); memory (RSS after a run): ` +
    `first detector session +${fixed(memory.first, 0)} MB, each further instance ` +
    `+${fixed(memory.extra, 0)} MB\n`,
);
console.log(markdownTable(
  [
    "option",
    "detector instances × threads",
    "classifier threads",
    "frames/s",
    "× bare detector",
    "CPU ms/frame",
  ],
  options.map((o) => {
    const e = results.get(o.name)!;
    return [
      o.name,
      `${o.instances ?? 1} × ${o.detThreads}`,
      o.branches === "none" ? "–" : o.clsThreads,
      fixed(mean(e.fps), 1),
      fixed(mean(e.ratio), 2),
      fixed(mean(e.cpu), 0),
    ];
  }),
));
