/**
 * `detector run` under load: N generated 1080p H.264 RTSP cameras at 5 fps (N = 1, 2, 4, 8), each
 * subscribed with an archive holding the YOLOv8n-size model of ../shared/models (skipped when the
 * model is absent). A scripted backend counts `imageDetection` reports per second (one per frame the
 * pipeline ran on) and measures the heartbeat: intervals between `stateReport`s against the 2 s
 * period. A fresh detector and fresh RTSP servers per N.
 *
 * deno run -A bench/worker_bench.ts [--seconds 20] [--cameras 1,2,4,8] [--model PATH]
 */
import { zipDeterministic } from "../src/mpta/pack.ts";
import { connectBackend, type Message } from "../tests/harness/backend_client.ts";
import { startDetector } from "../tests/harness/detector.ts";
import { type RtspServer, startRtspServer } from "../tests/harness/rtsp_server.ts";
import { makeTestVideo } from "../tests/harness/video.ts";
import { childPids } from "../tests/harness/worker_fixtures.ts";
import { cpuSeconds } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable, percentile } from "./lib/report.ts";
import { arg } from "./lib/args.ts";

const seconds = Number(arg("seconds", "20"));
const counts = arg("cameras", "1,2,4,8").split(",").map(Number);
const modelPath = arg(
  "model",
  new URL("../../shared/models/yolov8n-arch-640.onnx", import.meta.url).pathname,
);
const FPS = 5;
const HEARTBEAT_MS = 2000;

let model: Uint8Array;
try {
  model = await Deno.readFile(modelPath);
} catch {
  console.log(`skipped: the YOLOv8n-size model ${modelPath} is not there`);
  Deno.exit(0);
}

const dir = await Deno.makeTempDir({ prefix: "worker_bench_" });
const archivePath = `${dir}/yolov8n.mpta`;
await Deno.writeFile(
  archivePath,
  zipDeterministic({
    "pipeline.json": new TextEncoder().encode(JSON.stringify({
      pipeline: {
        modelId: "yolov8n",
        modelFile: "yolov8n.onnx",
        minConfidence: 0.25,
        triggerClasses: ["person", "car", "truck", "bus", "bicycle", "motorcycle"],
        branches: [],
        actions: [],
      },
    })),
    "yolov8n.onnx": model,
  }),
);
const video = await makeTestVideo({
  width: 1920,
  height: 1080,
  fps: FPS,
  seconds: Math.max(120, seconds * 3 + 60),
});

interface Row {
  cameras: number;
  offered: number;
  reports: number;
  intervalP50: number;
  intervalMax: number;
  jitterMax: number;
  detectorCpu: number;
  ffmpegCpu: number;
  machineCpu: number;
}

async function measure(n: number): Promise<Row> {
  const servers: RtspServer[] = [];
  for (let i = 0; i < n; i++) servers.push(await startRtspServer({ file: video }));
  const detector = await startDetector(
    [
      "run",
      "--host",
      "127.0.0.1",
      "--poll-interval",
      "0",
      "--model-dir",
      `${dir}/models`,
      "--spool-dir",
      `${dir}/spool`,
      "--tracking",
      "per-frame",
    ],
    { DETECTOR_LOG_LEVEL: "info" },
  );
  const backend = await connectBackend(detector.url);
  try {
    const ids = servers.map((_, i) => `display-${i};cam-${i}`);
    backend.send({
      type: "setSubscriptionList",
      subscriptions: servers.map((s, i) => ({
        subscriptionIdentifier: ids[i],
        rtspUrl: s.url,
        modelUrl: archivePath,
        modelId: 1,
        modelName: "YOLOv8n",
      })),
    });
    const isReport = (m: Message) => m.type === "imageDetection";
    for (const id of ids) {
      await backend.waitFor(
        (m) => isReport(m) && m.subscriptionIdentifier === id,
        `first report of ${id}`,
        120_000,
      );
    }
    await new Promise((r) => setTimeout(r, 3000)); // warm-up
    const from = backend.received.length;
    const cpu0 = await cpuSeconds(detector.pid);
    const ff = await childPids(detector.pid, "ffmpeg");
    const ff0 = await Promise.all(ff.map(cpuSeconds));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsed = (performance.now() - t0) / 1000;
    const cpu1 = await cpuSeconds(detector.pid);
    const ff1 = await Promise.all(ff.map((p) => cpuSeconds(p).catch(() => NaN)));
    const window = backend.received.slice(from);
    const reports = window.filter((r) => isReport(r.msg));
    const states = window.filter((r) => r.msg.type === "stateReport");
    const intervals = states.slice(1).map((s, i) => s.at - states[i].at);
    const cpuFigures = states.map((s) => s.msg.cpuUsage).filter((v) => typeof v === "number");
    return {
      cameras: n,
      offered: n * FPS,
      reports: reports.length / elapsed,
      intervalP50: percentile(intervals, 50),
      intervalMax: Math.max(...intervals),
      jitterMax: Math.max(...intervals.map((i) => Math.abs(i - HEARTBEAT_MS))),
      detectorCpu: (cpu1 - cpu0) / elapsed * 100,
      ffmpegCpu: ff1.reduce((a, v, i) => a + v - ff0[i], 0) / elapsed * 100,
      machineCpu: cpuFigures.reduce((a, v) => a + v, 0) / (cpuFigures.length || NaN),
    };
  } finally {
    await backend.close();
    await detector.stop(15_000);
    for (const s of servers) await s.stop();
  }
}

const rows: Row[] = [];
try {
  for (const n of counts) {
    console.error(`measuring ${n} camera(s) for ${seconds} s…`);
    rows.push(await measure(n));
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

console.log(
  `${machineLine()}\nYOLOv8n-size model (random weights, 640×640), 1080p H.264 RTSP cameras at ` +
    `${FPS} fps, ${seconds} s per row, heartbeat every ${HEARTBEAT_MS} ms\n`,
);
console.log(markdownTable(
  [
    "cameras",
    "frames offered/s",
    "detections/s (reports)",
    "heartbeat interval p50 ms",
    "heartbeat interval max ms",
    "max jitter ms",
    "detector CPU %",
    "ffmpeg CPU %",
    "machine CPU %",
  ],
  rows.map((r) => [
    r.cameras,
    r.offered,
    fixed(r.reports, 1),
    fixed(r.intervalP50, 0),
    fixed(r.intervalMax, 0),
    fixed(r.jitterMax, 0),
    fixed(r.detectorCpu, 0),
    fixed(r.ffmpegCpu, 0),
    fixed(r.machineCpu, 0),
  ]),
));
