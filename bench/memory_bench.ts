/**
 * Memory of `serve` under a steady load: cameras of three kinds (test pattern, HTTP upload push,
 * watched folder) and MJPEG clients spread over them, for several minutes. Samples the serve
 * process's RSS (/proc) and reports start, peak, the value at half time and at the end, and the
 * growth over the second half (a leak shows as steady growth there).
 *
 * deno run -A bench/memory_bench.ts [--minutes 10] [--cameras 50] [--clients 100] [--fps 5]
 */
import { spawnChild } from "../tests/harness/process.ts";
import { benchJpeg } from "./lib/bench_frame.ts";
import { rssMiB } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable } from "./lib/report.ts";
import { arg } from "./lib/args.ts";

const minutes = Number(arg("minutes", "10"));
const cameras = Number(arg("cameras", "50"));
const clients = Number(arg("clients", "100"));
const fps = Number(arg("fps", "5"));
const TOKEN = "memory-bench";

const mainTs = new URL("../main.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = await Deno.makeTempDir({ prefix: "memory_bench_" });

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

const server = spawnChild(Deno.execPath(), [
  "run",
  "-A",
  mainTs,
  "serve",
  ...sources,
  "--upload-token",
  TOKEN,
  "--port",
  "0",
  "--target-fps",
  String(fps),
  "--max-frame-age",
  "5",
]);
const url = (await server.waitFor(/listening on (http:\/\/[^\s]+)/, 60_000))[1];
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
        Deno.writeFile(`${tmp}/${c}/frame_${String(n).padStart(6, "0")}.jpg`, jpeg).catch(() => {})
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

const samples: { s: number; rss: number }[] = [];
const t0 = Date.now();
samples.push({ s: 0, rss: await rssMiB(server.pid) });
await sleep(5000);
const beforeClients = await rssMiB(server.pid);
const streams = Array.from({ length: clients }, (_, i) => client(all[i % all.length]));
const end = t0 + minutes * 60_000;
while (Date.now() < end) {
  await sleep(10_000);
  const sample = { s: Math.round((Date.now() - t0) / 1000), rss: await rssMiB(server.pid) };
  samples.push(sample);
  console.error(`${sample.s} s: ${fixed(sample.rss, 1)} MiB`);
}
stop.abort();
await server.stop();
await Promise.race([Promise.allSettled([feeder, ...streams]), sleep(5000)]);
await Deno.remove(tmp, { recursive: true });

const half = samples.find((x) => x.s >= (minutes * 60) / 2) ?? samples[0];
const last = samples.at(-1)!;
const peak = Math.max(...samples.map((x) => x.rss));
const growth = (last.rss - half.rss) / half.rss * 100;
console.log(machineLine());
console.log(
  `serve: ${patternCount} test-pattern + ${pushCount} upload + ${dirCount} folder cameras ` +
    `at ${fps} fps (640x360, ~40 KB JPEGs), ${clients} MJPEG clients, ${minutes} min; ` +
    `${fixed(received / 1e9, 2)} GB streamed`,
);
console.log(markdownTable(["RSS MiB", "value"], [
  ["started, no client", fixed(beforeClients, 1)],
  ["peak", fixed(peak, 1)],
  [`at ${half.s} s`, fixed(half.rss, 1)],
  [`at ${last.s} s (end)`, fixed(last.rss, 1)],
  ["growth over the second half", `${fixed(growth, 1)} %`],
]));
console.log(
  "samples (s:MiB): " + samples.map((x) => `${x.s}:${Math.round(x.rss)}`).join(" "),
);
