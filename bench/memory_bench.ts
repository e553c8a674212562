/**
 * Memory of a long-running subcommand under a steady load, sampled from /proc every 10 s: start,
 * peak, the value at half time and at the end, the growth over the second half (a leak shows as
 * steady growth there), and at the end what the resident memory is (smaps: anonymous memory vs
 * mapped files such as the deno executable and native libraries).
 *
 * `--mode serve` (default): cameras of three kinds (test pattern, HTTP upload push, watched
 * folder) and MJPEG clients spread over them.
 * `--mode run`: `detector run` with N subscriptions, each an H.264 RTSP camera (generated video,
 * its own RTSP server) and an archive holding the YOLOv8n-size model, driven by a scripted backend.
 *
 * `serve` runs with the program's memory flags (src/core/memory_flags.ts; `run` never does) unless
 * `--bare` is given. Extra runtime arguments go in `--deno-args` (e.g.
 * `--deno-args "--v8-flags=--max-semi-space-size=1"`); the environment is passed through, so
 * `MALLOC_ARENA_MAX=8 deno run -A bench/memory_bench.ts` measures that too.
 *
 * deno run -A bench/memory_bench.ts [--mode serve] [--minutes 10] [--cameras 50] [--clients 100]
 *   [--fps 5] [--bare] [--deno-args "…"]
 * deno run -A bench/memory_bench.ts --mode run [--minutes 10] [--cameras 8] [--fps 5]
 *   [--analysis-size 640|full]
 *   [--size 1280x720] [--model PATH]
 */
import { type Child, spawnChild } from "../tests/harness/process.ts";
import { benchJpeg } from "./lib/bench_frame.ts";
import { cpuSeconds, rssMiB } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable } from "./lib/report.ts";
import { arg } from "./lib/args.ts";
import { runBenchArgs, subscribeCameras } from "./lib/worker_setup.ts";
import { connectBackend } from "../tests/harness/backend_client.ts";
import { type RtspServer, startRtspServer } from "../tests/harness/rtsp_server.ts";
import { makeTestVideo } from "../tests/harness/video.ts";
import { benchDetector, writeDetectorArchive } from "./lib/bench_models.ts";
import { MEMORY_RUNTIME_ARGS } from "../src/core/memory_flags.ts";

const mode = arg("mode", "serve");
if (mode !== "serve" && mode !== "run") throw new Error(`--mode expects serve or run, got ${mode}`);
const minutes = Number(arg("minutes", "10"));
const cameras = Number(arg("cameras", mode === "serve" ? "50" : "8"));
const clients = Number(arg("clients", "100"));
const analysisSize = arg("analysis-size", "640");
const fps = Number(arg("fps", "5"));
const denoArgs = arg("deno-args", "").split(" ").filter((a) => a !== "");
/**
 * The program's memory runtime flags, as the `detector` command gives them (to `serve` only);
 * `--bare`: without them, to measure what they take off.
 */
const runtimeArgs = Deno.args.includes("--bare") || mode === "run" ? [] : MEMORY_RUNTIME_ARGS;
const TOKEN = "memory-bench";

const mainTs = new URL("../main.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = await Deno.makeTempDir({ prefix: "memory_bench_" });

/** Starts `main.ts` the way the installed program runs it, plus --deno-args. */
async function startMain(args: string[]): Promise<{ child: Child; url: string }> {
  const child = spawnChild(Deno.execPath(), [
    "run",
    "-A",
    ...runtimeArgs,
    ...denoArgs,
    mainTs,
    ...args,
    "--port",
    "0",
  ]);
  const url = (await child.waitFor(/listening on (http:\/\/[^\s]+)/, 60_000))[1];
  return { child, url };
}

/** Resident memory by kind at the end (kB → MiB): anonymous, and the largest mapped files. */
async function residentBreakdown(pid: number): Promise<string> {
  const smaps = await Deno.readTextFile(`/proc/${pid}/smaps`);
  const byName = new Map<string, number>();
  let name = "";
  for (const line of smaps.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1] === "" ? "[anonymous]" : head[1].replace(/^.*\//, "");
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) byName.set(name, (byName.get(name) ?? 0) + Number(rss[1]));
  }
  return [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6)
    .map(([n, kb]) => `${n} ${fixed(kb / 1024, 1)}`).join(", ");
}

/** `detector_process_memory_bytes` of /metrics (Deno.memoryUsage of the main thread), MiB. */
async function jsMemory(url: string): Promise<string> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const kinds = [...text.matchAll(/^detector_process_memory_bytes\{kind="(\w+)"\} (\S+)$/gm)];
    return kinds.filter(([, k]) => k !== "rss")
      .map(([, k, v]) => `${k} ${fixed(Number(v) / 1048576, 1)}`).join(", ");
  } catch {
    return "/metrics not available";
  }
}

interface Load {
  child: Child;
  url: string;
  /** What the load was, for the report. */
  describe: () => string;
  /** Starts the steady part (clients) after the "started" sample. */
  begin: () => void;
  stop: () => Promise<void>;
}

async function serveLoad(): Promise<Load> {
  const pushCount = Math.round(cameras * 0.2);
  const dirCount = Math.round(cameras * 0.2);
  const patternCount = cameras - pushCount - dirCount;
  const names = {
    pattern: Array.from({ length: patternCount }, (_, i) => `tp${i}`),
    push: Array.from({ length: pushCount }, (_, i) => `push${i}`),
    dir: Array.from({ length: dirCount }, (_, i) => `dir${i}`),
  };
  const sources: string[] = [];
  for (const n of names.pattern) {
    sources.push("--source", `${n}=testpattern:?fps=${fps}&size=640x360`);
  }
  for (const n of names.dir) {
    await Deno.mkdir(`${tmp}/${n}`);
    sources.push("--source", `${n}=dir:${tmp}/${n}`);
  }
  const { child, url } = await startMain([
    "serve",
    ...sources,
    "--upload-token",
    TOKEN,
    "--target-fps",
    String(fps),
    "--max-frame-age",
    "5",
  ]);
  const jpeg = await benchJpeg(640, 360, 40_000);
  const stop = new AbortController();

  /** Pushed and dropped-in frames, once per second per camera. */
  const feeder = (async () => {
    let n = 0;
    while (!stop.signal.aborted) {
      n++;
      await Promise.all([
        ...names.push.map((c) =>
          fetch(`${url}/cameras/${c}/image`, {
            method: "POST",
            headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "image/jpeg" },
            body: jpeg as Uint8Array<ArrayBuffer>,
          }).then((r) => r.body?.cancel()).catch(() => {})
        ),
        ...names.dir.map((c) =>
          Deno.writeFile(`${tmp}/${c}/frame_${String(n).padStart(6, "0")}.jpg`, jpeg)
            .catch(() => {})
        ),
      ]);
      await sleep(1000);
    }
  })();

  const all = [...names.pattern, ...names.push, ...names.dir];
  let received = 0;
  async function client(camera: string): Promise<void> {
    while (!stop.signal.aborted) {
      try {
        const res = await fetch(`${url}/cameras/${camera}/stream.mjpg`, { signal: stop.signal });
        const reader = res.body!.getReader();
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          received += value.length;
        }
      } catch {
        await sleep(500);
      }
    }
  }
  let streams: Promise<void>[] = [];
  return {
    child,
    url,
    describe: () =>
      `serve: ${patternCount} test-pattern + ${pushCount} upload + ${dirCount} folder cameras ` +
      `at ${fps} fps (640x360, ~40 KB JPEGs), ${clients} MJPEG clients, ${minutes} min; ` +
      `${fixed(received / 1e9, 2)} GB streamed`,
    begin: () => {
      streams = Array.from({ length: clients }, (_, i) => client(all[i % all.length]));
    },
    stop: async () => {
      stop.abort();
      await child.stop();
      await Promise.race([Promise.allSettled([feeder, ...streams]), sleep(5000)]);
    },
  };
}

async function runLoad(): Promise<Load> {
  const [width, height] = arg("size", "1280x720").split("x").map(Number);
  const modelPath = arg("model", "");
  const model = modelPath ? await Deno.readFile(modelPath) : (await benchDetector()).bytes;
  const archive = `${tmp}/yolov8n.mpta`;
  await writeDetectorArchive(archive, model);
  const video = await makeTestVideo({ width, height, fps, seconds: 120 });
  const servers: RtspServer[] = [];
  for (let i = 0; i < cameras; i++) servers.push(await startRtspServer({ file: video }));
  const { child, url } = await startMain(runBenchArgs(tmp, analysisSize));
  const backend = await connectBackend(url);
  const ids = subscribeCameras(backend, servers, archive);
  for (const id of ids) {
    await backend.waitFor(
      (m) => m.type === "imageDetection" && m.subscriptionIdentifier === id,
      `first report of ${id}`,
      180_000,
    );
  }
  const reports = () => backend.received.filter((r) => r.msg.type === "imageDetection").length;
  return {
    child,
    url,
    describe: () =>
      `run: ${cameras} subscriptions, ${width}x${height} H.264 RTSP at ${fps} fps, ` +
      `YOLOv8n-size model, ${minutes} min; ${reports()} detection reports`,
    begin: () => {},
    stop: async () => {
      await backend.close();
      await child.stop(15_000);
      for (const s of servers) await s.stop();
    },
  };
}

const load = mode === "serve" ? await serveLoad() : await runLoad();
const pid = load.child.pid;
const samples: { s: number; rss: number }[] = [];
const t0 = Date.now();
samples.push({ s: 0, rss: await rssMiB(pid) });
await sleep(5000);
const beforeLoad = await rssMiB(pid);
const cpu0 = await cpuSeconds(pid);
const cpuFrom = Date.now();
load.begin();
const end = t0 + minutes * 60_000;
while (Date.now() < end) {
  await sleep(10_000);
  const sample = { s: Math.round((Date.now() - t0) / 1000), rss: await rssMiB(pid) };
  samples.push(sample);
  console.error(`${sample.s} s: ${fixed(sample.rss, 1)} MiB`);
}
const cpu = (await cpuSeconds(pid) - cpu0) / ((Date.now() - cpuFrom) / 1000) * 100;
const breakdown = await residentBreakdown(pid);
const js = await jsMemory(load.url);
await load.stop();
await Deno.remove(tmp, { recursive: true });

const half = samples.find((x) => x.s >= (minutes * 60) / 2) ?? samples[0];
const last = samples.at(-1)!;
const peak = Math.max(...samples.map((x) => x.rss));
const growth = (last.rss - half.rss) / half.rss * 100;
console.log(machineLine());
console.log(load.describe());
const extra = [...runtimeArgs, ...denoArgs].join(" ");
const malloc = Deno.env.get("MALLOC_ARENA_MAX");
console.log(
  `runtime: deno run ${extra}${malloc ? `, MALLOC_ARENA_MAX=${malloc}` : ""}`,
);
console.log(markdownTable(["RSS MiB", "value"], [
  [mode === "serve" ? "started, no client" : "every camera reported once", fixed(beforeLoad, 1)],
  ["peak", fixed(peak, 1)],
  [`at ${half.s} s`, fixed(half.rss, 1)],
  [`at ${last.s} s (end)`, fixed(last.rss, 1)],
  ["growth over the second half", `${fixed(growth, 1)} %`],
]));
console.log(`CPU of the measured process under load: ${fixed(cpu, 0)} % of one core`);
console.log(`resident at the end (MiB): ${breakdown}; JS (main thread): ${js}`);
console.log(
  "samples (s:MiB): " + samples.map((x) => `${x.s}:${Math.round(x.rss)}`).join(" "),
);
