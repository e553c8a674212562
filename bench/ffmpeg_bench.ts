/**
 * ffmpeg source: CPU per 1000 frames of 1080p H.264 → MJPEG at 5, 15 and 30 fps with and without
 * scale, and end-to-end latency from a real RTSP server (gst-rtsp-server) to an MJPEG client of
 * `detector serve`. The test video carries its frame number as a bar code; the server reports when
 * it hands each frame to the RTP payloader; the client reads the bar code of every part it gets.
 * CPU is utime+stime from /proc of the ffmpeg child plus the process holding the source.
 *
 * deno run -A bench/ffmpeg_bench.ts [--seconds 10] [--latency-seconds 10]
 */
import { FrameCache } from "../src/core/frame_cache.ts";
import { FfmpegSource } from "../src/sources/ffmpeg_source.ts";
import { spawnChild } from "../tests/harness/process.ts";
import { type RtspServer, startRtspServer } from "../tests/harness/rtsp_server.ts";
import { makeTestVideo, readFrameIndex } from "../tests/harness/video.ts";
import { MultipartParser } from "./lib/mjpeg_parser.ts";
import { cpuSeconds } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable, percentile } from "./lib/report.ts";
import { arg } from "./lib/args.ts";

const seconds = Number(arg("seconds", "10"));
const latencySeconds = Number(arg("latency-seconds", "10"));
const FPS = 30;
const mainTs = new URL("../main.ts", import.meta.url).pathname;
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const madeAt = performance.now();
const video = await makeTestVideo({
  width: 1920,
  height: 1080,
  fps: FPS,
  seconds: Math.max(60, seconds + latencySeconds + 20),
});
console.log(
  `test video ${video.split("/").pop()} ready in ${
    ((performance.now() - madeAt) / 1000).toFixed(1)
  } s`,
);
const server = await startRtspServer({ file: video, reportSends: true });

interface CpuRow {
  fps: string;
  scale: string;
  frames: number;
  ffmpegCpu: number;
  sourceCpu: number;
}

/** Runs one source in this process for `seconds` after warm-up; CPU of ffmpeg and of this process. */
async function measureCpu(server: RtspServer, fps: number, scale?: string): Promise<CpuRow> {
  const opts = [`fps=${fps}`, ...(scale ? [`scale=${scale}`] : [])].join("&");
  const cache = new FrameCache();
  const src = new FfmpegSource("bench", `${server.url}#${opts}`, cache, { stallTimeoutMs: 20_000 });
  src.start();
  try {
    const until = Date.now() + 30_000;
    while (!cache.latest("bench") && Date.now() < until) await sleep(100);
    if (!cache.latest("bench")) throw new Error(`no frame: ${src.status().lastError}`);
    await sleep(2000);
    const pid = src.pid!;
    const f0 = cache.stats("bench")!.framesIn;
    const [ff0, me0] = [await cpuSeconds(pid), await cpuSeconds(Deno.pid)];
    await sleep(seconds * 1000);
    const [ff1, me1] = [await cpuSeconds(pid), await cpuSeconds(Deno.pid)];
    if (src.pid !== pid) throw new Error("ffmpeg restarted during the measurement");
    return {
      fps: String(fps),
      scale: scale ?? "1920x1080 (none)",
      frames: cache.stats("bench")!.framesIn - f0,
      ffmpegCpu: ff1 - ff0,
      sourceCpu: me1 - me0,
    };
  } finally {
    await src.stop();
    await sleep(1500); // let the shared media shut down before the next client
  }
}

async function twice<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    console.log(`${what}: ${err instanceof Error ? err.message : err}; trying once more`);
    return await fn();
  }
}

const cpuRows: CpuRow[] = [];
for (const fps of [5, 15, 30]) {
  for (const scale of [undefined, "640x360"]) {
    cpuRows.push(await twice(`${fps} fps ${scale ?? ""}`, () => measureCpu(server, fps, scale)));
  }
}

console.log(machineLine());
console.log(
  `\nCPU seconds per 1000 output frames, 1080p30 H.264 from RTSP → MJPEG (q 5), ${seconds} s each:\n`,
);
console.log(markdownTable(
  ["output fps", "scale", "frames", "ffmpeg CPU s/1000", "source CPU s/1000", "total CPU %"],
  cpuRows.map((r) => [
    r.fps,
    r.scale,
    r.frames,
    fixed(r.ffmpegCpu / r.frames * 1000),
    fixed(r.sourceCpu / r.frames * 1000),
    fixed((r.ffmpegCpu + r.sourceCpu) / seconds * 100, 0),
  ]),
));
interface LatencyRow {
  config: string;
  parts: number;
  matched: number;
  ingest: number[];
  client: number[];
  cpu: number;
}

/** `detector serve` reading the RTSP server; one MJPEG client; latency per part. */
async function measureLatency(spec: string, config: string): Promise<LatencyRow> {
  const serve = spawnChild(Deno.execPath(), [
    "run",
    "-A",
    mainTs,
    "serve",
    "--port",
    "0",
    "--source",
    `cam=${spec}`,
  ], { env: { DETECTOR_LOG_LEVEL: "info" } });
  const parts: { at: number; frameAt: number; body: Uint8Array }[] = [];
  try {
    const m = await serve.waitFor(/listening on (http:\/\/\S+)/, 30_000);
    const base = m[1];
    let ffPid = 0;
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const cams = await (await fetch(`${base}/cameras`)).json();
      if (cams[0]?.state === "live") {
        ffPid = cams[0].detail.pid;
        break;
      }
      await sleep(200);
    }
    if (!ffPid) throw new Error("serve never went live");
    await sleep(1500);
    const abort = new AbortController();
    const res = await fetch(`${base}/cameras/cam/stream.mjpg`, { signal: abort.signal });
    const cpu0 = (await cpuSeconds(serve.pid)) + (await cpuSeconds(ffPid));
    const end = nowMs() + latencySeconds * 1000;
    const parser = new MultipartParser((part) => {
      parts.push({
        at: nowMs(),
        frameAt: Number(part.headers["x-frame-time"]),
        body: part.body,
      });
    }, { keepBody: true });
    const reader = res.body!.getReader();
    while (nowMs() < end) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
    const cpu1 = (await cpuSeconds(serve.pid)) + (await cpuSeconds(ffPid));
    abort.abort();
    await reader.cancel().catch(() => {});
    const sends = server.sends();
    const ingest: number[] = [];
    const client: number[] = [];
    let matched = 0;
    for (const p of parts) {
      const n = await readFrameIndex(p.body);
      if (n === null) continue;
      const pts = Math.floor(n * 1000 / FPS);
      const sent = sends.get(pts) ?? sends.get(pts + 1) ?? sends.get(pts - 1);
      if (sent === undefined) continue;
      matched++;
      client.push(p.at - sent);
      if (Number.isFinite(p.frameAt)) ingest.push(p.frameAt - sent);
    }
    return { config, parts: parts.length, matched, ingest, client, cpu: cpu1 - cpu0 };
  } finally {
    await serve.stop(5000);
    await sleep(1500);
  }
}

const latencyRows = [
  await twice("latency", () => measureLatency(server.url, "1080p30 → MJPEG")),
  await twice(
    "latency scaled",
    () => measureLatency(`${server.url}#scale=640x360`, "1080p30 → 640x360 MJPEG"),
  ),
];
await server.stop();

console.log(
  `\nEnd-to-end latency, RTSP server hands frame to RTP → MJPEG client of \`detector serve\` has ` +
    `the part (ms), ${latencySeconds} s each:\n`,
);
console.log(markdownTable(
  [
    "stream",
    "parts",
    "matched",
    "→ cache p50",
    "→ client p50",
    "→ client p99",
    "serve+ffmpeg CPU s/1000",
  ],
  latencyRows.map((r) => [
    r.config,
    r.parts,
    r.matched,
    fixed(percentile(r.ingest, 50), 0),
    fixed(percentile(r.client, 50), 0),
    fixed(percentile(r.client, 99), 0),
    fixed(r.cpu / r.parts * 1000),
  ]),
));
