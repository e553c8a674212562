/**
 * MJPEG fan-out: one camera of ~100 KB 1080p JPEGs at 30 fps, N clients (1, 10, 100) reading
 * `/stream.mjpg` from another process. Reports the serve process's CPU seconds per 1000 delivered
 * frames (/proc utime+stime), frames delivered / expected, and the delay from the producer's write
 * to a client holding the whole part (p50/p99), carried by a time stamp inside each JPEG.
 *
 * A bare Deno.serve fan-out of the same bytes runs beside it as the floor any Deno server has on this
 * machine; each client count is measured against serve, then against the bare server, so that load
 * from other work falls on both (`--no-baseline` skips it).
 *
 * deno run -A bench/mjpeg_fanout_bench.ts [--clients 1,10,100] [--seconds 10] [--fps 30] [--kb 100]
 *   [--cap FPS] [--no-baseline]
 */
import { spawnChild } from "../tests/harness/process.ts";
import { benchJpeg } from "./lib/bench_frame.ts";
import type { ClientsReport } from "./lib/fanout_clients.ts";
import { bestProducer } from "./lib/frame_producer.ts";
import { cpuSeconds, rssMiB } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable, percentile } from "./lib/report.ts";
import { arg } from "./lib/args.ts";

const clientCounts = arg("clients", "1,10,100").split(",").map(Number);
const seconds = Number(arg("seconds", "10"));
const fps = Number(arg("fps", "30"));
const kb = Number(arg("kb", "100"));
/** serve's TARGET_FPS, the per-client cap; by default the source's rate, as deployed. */
const cap = Number(arg("cap", String(fps)));
const warmupMs = 3000;
const baseline = !Deno.args.includes("--no-baseline");

const mainTs = new URL("../main.ts", import.meta.url).pathname;
const clientsTs = new URL("./lib/fanout_clients.ts", import.meta.url).pathname;
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const jpeg = await benchJpeg(1920, 1080, kb * 1000);
const producer = await bestProducer(jpeg, fps);
const server = spawnChild(Deno.execPath(), [
  "run",
  "-A",
  mainTs,
  "serve",
  "--source",
  `bench=${producer.spec}`,
  "--port",
  "0",
  "--target-fps",
  String(cap),
]);

async function gauge(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^detector_http_mjpeg_clients (\d+)$/m.exec(text)?.[1] ?? NaN);
}

const rows: (string | number)[][] = [];

interface Target {
  label: string;
  streamUrl: string;
  pid: number;
  /** Frames made inside the window; undefined when only the rate is known. */
  produced(start: number, end: number): number;
  /** Open streams as the server counts them, when it does. */
  openStreams?: () => Promise<number>;
}

/**
 * One row for `n` clients (0 = the server with its source only) against one server; returns its CPU
 * seconds per 1000 frames.
 */
async function measure(t: Target, n: number, floor?: number): Promise<number> {
  const start = nowMs() + warmupMs;
  const end = start + seconds * 1000;
  const clients = n === 0 ? undefined : spawnChild(Deno.execPath(), [
    "run",
    "-A",
    clientsTs,
    t.streamUrl,
    String(n),
    String(start),
    String(end),
  ]);
  await sleep(start - nowMs());
  const cpu0 = await cpuSeconds(t.pid);
  await sleep(end - nowMs());
  const cpu1 = await cpuSeconds(t.pid);
  const rss = await rssMiB(t.pid);
  const cpu = cpu1 - cpu0;
  const load = fixed(cpu / seconds * 100, 1);
  if (!clients) {
    rows.push([t.label, 0, "–", "–", "–", "–", "–", "–", load, fixed(rss, 0)]);
    return NaN;
  }
  const status = await clients.status;
  const line = clients.output().trim().split("\n").pop() ?? "";
  if (!status.success) throw new Error(`clients failed: ${clients.output()}`);
  const report: ClientsReport = JSON.parse(line);
  if (report.errors.length) {
    console.error(`client errors: ${report.errors.slice(0, 3).join("; ")}`);
  }
  const expected = t.produced(start, end) * n;
  const perFrame = cpu / (report.parts / 1000);
  rows.push([
    t.label,
    n,
    `${report.parts} / ${expected} (${fixed(report.parts / expected * 100, 1)} %)`,
    fixed(perFrame, 3),
    floor === undefined ? "1" : fixed(perFrame / floor, 2),
    fixed(percentile(report.delays, 50), 1),
    fixed(percentile(report.delays, 99), 1),
    report.ingestDelays.length
      ? `${fixed(percentile(report.ingestDelays, 50), 1)} / ${
        fixed(percentile(report.ingestDelays, 99), 1)
      }`
      : "–",
    load,
    fixed(rss, 0),
  ]);
  if (t.openStreams) {
    // Every stream the clients held must be released once they are gone.
    for (let i = 0; i < 50 && await t.openStreams() !== 0; i++) await sleep(100);
    const left = await t.openStreams();
    if (left !== 0) throw new Error(`${left} MJPEG streams still open after the clients left`);
  }
  return perFrame;
}

// The same bytes from a bare Deno.serve fan-out: what any Deno server can do on this machine.
const file = await Deno.makeTempFile({ suffix: ".jpg" });
await Deno.writeFile(file, jpeg);
const bare = baseline
  ? spawnChild(Deno.execPath(), [
    "run",
    "-A",
    new URL("./lib/bare_mjpeg_server.ts", import.meta.url).pathname,
    file,
    String(fps),
  ])
  : undefined;
try {
  const url = (await server.waitFor(/listening on (http:\/\/\S+)/, 30_000))[1];
  producer.start();
  for (let i = 0;; i++) {
    const res = await fetch(`${url}/snapshot.jpg`);
    await res.body?.cancel();
    if (res.status === 200) break;
    if (i > 100) throw new Error(`no frame reached serve: ${server.output()}`);
    await sleep(100);
  }
  const bareUrl = bare && (await bare.waitFor(/listening on (http:\/\/\S+)/, 30_000))[1];
  const ours: Target = {
    label: "detector serve",
    streamUrl: `${url}/stream.mjpg`,
    pid: server.pid,
    produced: (start, end) => producer.written.filter((t) => t >= start && t <= end).length,
    openStreams: () => gauge(url),
  };
  const floor: Target | undefined = bare && bareUrl
    ? {
      label: "bare `Deno.serve` floor",
      streamUrl: bareUrl,
      pid: bare.pid,
      produced: (start, end) => Math.round((end - start) / 1000 * fps),
    }
    : undefined;
  await measure(ours, 0);
  for (const n of clientCounts) {
    // The bare server first: its figure is the one serve's row is divided by.
    const base = floor ? await measure(floor, n) : undefined;
    await measure(ours, n, base);
  }
} finally {
  await producer.stop();
  await server.stop();
  await bare?.stop();
  await Deno.remove(file);
}

console.log(
  `MJPEG fan-out: one ${jpeg.byteLength} byte 1920x1080 JPEG stream at ${fps} fps from ` +
    `\`${producer.spec.split(":")[0]}:\` into serve (TARGET_FPS ${cap}), clients in a separate ` +
    `process, ${seconds} s per row; delay = producer write → client has the whole part.`,
);
console.log(machineLine() + "\n");
console.log(markdownTable([
  "server",
  "clients",
  "delivered / expected",
  "server CPU s per 1000 frames",
  "of bare",
  "delay p50 ms",
  "delay p99 ms",
  "of which write→cache p50 / p99 ms",
  "server CPU % (one core)",
  "server RSS MiB",
], rows));
