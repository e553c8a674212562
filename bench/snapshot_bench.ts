/**
 * `/snapshot.jpg` requests per second with `wrk` (keep-alive connections) against serve holding
 * one ~100 KB 1080p frame, at a few connection counts, and against a bare Deno.serve answering the
 * same bytes (the floor any Deno server has on this machine). The two servers run side by side and
 * take turns, `--rounds` times per connection count, so that load from other work falls on both.
 *
 * deno run -A bench/snapshot_bench.ts [--connections 10,50,200] [--seconds 8] [--rounds 2]
 *   [--threads 1] [--kb 100]
 */
import { spawnChild } from "../tests/harness/process.ts";
import { benchJpeg } from "./lib/bench_frame.ts";
import { bestProducer } from "./lib/frame_producer.ts";
import { cpuSeconds } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable } from "./lib/report.ts";
import { arg } from "./lib/args.ts";

const connections = arg("connections", "10,50,200").split(",").map(Number);
const seconds = Number(arg("seconds", "8"));
const rounds = Number(arg("rounds", "2"));
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

interface Totals {
  requests: number;
  mib: number;
  cpu: number;
  p50: string[];
  p99: string[];
  errors: string[];
}

/** One wrk run against `url`, added to `t`. */
async function turn(url: string, pid: number, c: number, t: Totals): Promise<void> {
  const cpu0 = await cpuSeconds(pid);
  const r = await wrk(url, c);
  t.cpu += await cpuSeconds(pid) - cpu0;
  t.requests += r.rps * seconds;
  t.mib += r.mbps * seconds;
  t.p50.push(r.p50);
  t.p99.push(r.p99);
  if (r.errors !== "0") t.errors.push(r.errors);
}

function row(label: string, c: number, t: Totals, floor?: Totals): (string | number)[] {
  const time = seconds * rounds;
  const rps = t.requests / time;
  return [
    label,
    c,
    Math.round(rps),
    floor ? fixed(rps / (floor.requests / time), 2) : "1",
    fixed(t.mib / time, 0),
    t.p50.join(", "),
    t.p99.join(", "),
    fixed(t.cpu / time * 100, 0),
    fixed(t.cpu / t.requests * 1e6, 0),
    t.errors.join("; ") || "0",
  ];
}

const empty = (): Totals => ({ requests: 0, mib: 0, cpu: 0, p50: [], p99: [], errors: [] });
const rows: (string | number)[][] = [];
const file = await Deno.makeTempFile({ suffix: ".jpg" });
await Deno.writeFile(file, jpeg);
const bare = spawnChild(Deno.execPath(), [
  "run",
  "-A",
  new URL("./lib/bare_snapshot_server.ts", import.meta.url).pathname,
  file,
]);
try {
  const url = (await server.waitFor(/listening on (http:\/\/\S+)/, 30_000))[1];
  const bareUrl = (await bare.waitFor(/listening on (http:\/\/\S+)/, 30_000))[1];
  producer.start();
  for (let i = 0;; i++) {
    const res = await fetch(`${url}/snapshot.jpg`);
    await res.body?.cancel();
    if (res.status === 200) break;
    if (i > 100) throw new Error(`no frame reached serve: ${server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await warmUp(`${url}/snapshot.jpg`);
  await warmUp(bareUrl);
  for (const c of connections) {
    const ours = empty();
    const floor = empty();
    for (let i = 0; i < rounds; i++) {
      await turn(`${url}/snapshot.jpg`, server.pid, c, ours);
      await turn(bareUrl, bare.pid, c, floor);
    }
    rows.push(row("detector serve `/snapshot.jpg`", c, ours, floor));
    rows.push(row("bare `Deno.serve` (same bytes, no routing)", c, floor));
  }
} finally {
  await producer.stop();
  await server.stop();
  await bare.stop();
  await Deno.remove(file);
}

console.log(
  `/snapshot.jpg: one ${jpeg.byteLength} byte 1920x1080 JPEG, wrk -t${threads} keep-alive, ` +
    `${rounds} turns of ${seconds} s per row taken in turn with the bare server, wrk on the ` +
    `same machine; "of bare" = requests/s divided by the bare server's.`,
);
console.log(machineLine() + "\n");
console.log(markdownTable([
  "server",
  "connections",
  "requests/s",
  "of bare",
  "MiB/s",
  "latency p50 per turn",
  "latency p99 per turn",
  "server CPU %",
  "server CPU µs / request",
  "errors",
], rows));
