/**
 * `/snapshot.jpg` requests per second with `wrk` (keep-alive connections) against serve holding
 * one ~100 KB 1080p frame, at a few connection counts.
 *
 * deno run -A bench/snapshot_bench.ts [--connections 10,50,200] [--seconds 8] [--threads 1] [--kb 100]
 */
import { spawnChild } from "../tests/harness/process.ts";
import { benchJpeg } from "./lib/bench_frame.ts";
import { bestProducer } from "./lib/frame_producer.ts";
import { cpuSeconds } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable } from "./lib/report.ts";
import { arg } from "./lib/args.ts";

const connections = arg("connections", "10,50,200").split(",").map(Number);
const seconds = Number(arg("seconds", "8"));
const threads = Number(arg("threads", "1"));
const kb = Number(arg("kb", "100"));
const mainTs = new URL("../main.ts", import.meta.url).pathname;

async function hasWrk(): Promise<boolean> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

if (!await hasWrk()) {
  console.log("wrk is not installed (apt-get install -y wrk, or ./scripts/setup.sh): skipped");
  Deno.exit(0);
}

const jpeg = await benchJpeg(1920, 1080, kb * 1000);
// One frame a second: the server's work is the requests, not ingest.
const producer = await bestProducer(jpeg, 1);
const server = spawnChild(Deno.execPath(), [
  "run",
  "-A",
  mainTs,
  "serve",
  "--source",
  `bench=${producer.spec}`,
  "--port",
  "0",
]);

interface WrkResult {
  rps: number;
  mbps: number;
  p50: string;
  p99: string;
  errors: string;
}

function parseWrk(text: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const transfer = /Transfer\/sec:\s+([\d.]+)([KMG]B)/.exec(text);
  const scale = { KB: 1 / 1024, MB: 1, GB: 1024 }[transfer?.[2] ?? "MB"] ?? 1;
  const latency = (p: string) => new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(text)?.[1] ?? "–";
  const errs = /Socket errors: (.+)/.exec(text)?.[1];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1];
  return {
    rps,
    mbps: Number(transfer?.[1] ?? NaN) * scale,
    p50: latency("50"),
    p99: latency("99"),
    errors: [errs, non2xx ? `${non2xx} non-2xx` : undefined].filter(Boolean).join("; ") || "0",
  };
}

async function wrk(url: string, c: number): Promise<WrkResult> {
  const out = await new Deno.Command("wrk", {
    args: [`-t${threads}`, `-c${c}`, `-d${seconds}s`, "--latency", url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`wrk failed: ${text}`);
  return parseWrk(text);
}

async function warmUp(url: string): Promise<void> {
  await new Deno.Command("wrk", {
    args: ["-t1", "-c10", "-d2s", url],
    stdout: "null",
    stderr: "null",
  }).output();
}

const rows: (string | number)[][] = [];
try {
  const url = (await server.waitFor(/listening on (http:\/\/\S+)/, 30_000))[1];
  producer.start();
  for (let i = 0;; i++) {
    const res = await fetch(`${url}/snapshot.jpg`);
    await res.body?.cancel();
    if (res.status === 200) break;
    if (i > 100) throw new Error(`no frame reached serve: ${server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await warmUp(`${url}/snapshot.jpg`);
  for (const c of connections) {
    const cpu0 = await cpuSeconds(server.pid);
    const r = await wrk(`${url}/snapshot.jpg`, c);
    const cpu = await cpuSeconds(server.pid) - cpu0;
    rows.push([
      "detector serve `/snapshot.jpg`",
      c,
      Math.round(r.rps),
      fixed(r.mbps, 0),
      r.p50,
      r.p99,
      fixed(cpu / seconds * 100, 0),
      fixed(cpu / (r.rps * seconds) * 1e6, 0),
      r.errors,
    ]);
  }
} finally {
  await producer.stop();
  await server.stop();
}

// The same bytes from a bare Deno.serve handler: what any Deno server can do on this machine.
const file = await Deno.makeTempFile({ suffix: ".jpg" });
await Deno.writeFile(file, jpeg);
const bare = spawnChild(Deno.execPath(), [
  "run",
  "-A",
  new URL("./lib/bare_snapshot_server.ts", import.meta.url).pathname,
  file,
]);
try {
  const url = (await bare.waitFor(/listening on (http:\/\/\S+)/, 30_000))[1];
  await warmUp(url);
  for (const c of connections) {
    const cpu0 = await cpuSeconds(bare.pid);
    const r = await wrk(url, c);
    const cpu = await cpuSeconds(bare.pid) - cpu0;
    rows.push([
      "bare `Deno.serve` (same bytes, no routing)",
      c,
      Math.round(r.rps),
      fixed(r.mbps, 0),
      r.p50,
      r.p99,
      fixed(cpu / seconds * 100, 0),
      fixed(cpu / (r.rps * seconds) * 1e6, 0),
      r.errors,
    ]);
  }
} finally {
  await bare.stop();
  await Deno.remove(file);
}

console.log(
  `/snapshot.jpg: one ${jpeg.byteLength} byte 1920x1080 JPEG, wrk -t${threads} keep-alive, ` +
    `${seconds} s per row, wrk on the same machine.`,
);
console.log(machineLine() + "\n");
console.log(markdownTable([
  "server",
  "connections",
  "requests/s",
  "MiB/s",
  "latency p50",
  "latency p99",
  "server CPU %",
  "server CPU µs / request",
  "errors",
], rows));
