/**
 * WebSocket push ingest: frames per second that `detector serve` accepts (handshake checked, each
 * frame's JPEG structure walked, put into the cache) on one connection and across 50 connections,
 * for a ~100 KB 1080p frame and a tiny frame, each sent as one message `[length u32 LE][JPEG]`.
 * Senders write pre-built WebSocket frames from this process for a fixed time; the rate is the
 * frames sent divided by the time until the server's `detector_push_frames_total` has all of them
 * (serve runs with `--push-max-messages 0`, so the default 20 000/s cap does not cut the senders
 * off). Server CPU from /proc.
 *
 * deno run -A bench/push_bench.ts [--seconds 5] [--connections 1,50]
 */
import { createHmac } from "node:crypto";
import { startDetector } from "../tests/harness/detector.ts";
import { solidJpeg } from "../tests/harness/jpeg_fixtures.ts";
import {
  framed,
  metricValue,
  openRawPush,
  rawWsFrame,
  repeatBytes,
} from "../tests/harness/push_client.ts";
import { benchJpeg } from "./lib/bench_frame.ts";
import { cpuSeconds } from "./lib/proc_stat.ts";
import { fixed, machineLine, markdownTable } from "./lib/report.ts";
import { arg } from "./lib/args.ts";

const seconds = Number(arg("seconds", "5"));
const connectionCounts = arg("connections", "1,50").split(",").map(Number);
const SECRET = "bench-secret";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const token = (id: number) => createHmac("sha256", SECRET).update(String(id)).digest("hex");

/**
 * Writes batches of whole frames (about 256 KiB each) for `ms`, TCP pacing it, then a close frame;
 * resolves with the number of frames written.
 */
async function pump(conn: Deno.TcpConn, frame: Uint8Array, ms: number): Promise<number> {
  const perBatch = Math.max(1, Math.floor(256 * 1024 / frame.byteLength));
  const batch = repeatBytes(frame, perBatch);
  const until = performance.now() + ms;
  let frames = 0;
  try {
    while (performance.now() < until) {
      let off = 0;
      while (off < batch.byteLength) off += await conn.write(batch.subarray(off));
      frames += perBatch;
    }
    await conn.write(rawWsFrame(Uint8Array.of(0x03, 0xe8), 0x8)); // close 1000
  } finally {
    conn.close();
  }
  return frames;
}

interface Row {
  connections: number;
  frame: string;
  fps: number;
  mbps: number;
  cpuPct: number;
}

// No message cap: the bench measures how many frames the server can take, not the cap.
const detector = await startDetector(["serve", "--push-max-messages", "0"], {
  DETECTOR_PUSH_SECRET: SECRET,
  DETECTOR_LOG_LEVEL: "info",
});
const port = Number(new URL(detector.url).port);
const accepted = async () =>
  metricValue(
    await (await fetch(`${detector.url}/metrics`)).text(),
    "detector_push_frames_total",
    { via: "ws" },
  );

const frames: [string, Uint8Array][] = [
  ["1080p", await benchJpeg(1920, 1080, 100_000)],
  ["tiny", await solidJpeg(8, 8, [10, 20, 30], 50)],
];
const rows: Row[] = [];
let nextId = 1;
try {
  for (const [label, jpeg] of frames) {
    for (const n of connectionCounts) {
      const conns = await Promise.all(
        Array.from({ length: n }, () => openRawPush(port, nextId, token(nextId++))),
      );
      const frame = rawWsFrame(framed(jpeg));
      const f0 = await accepted();
      const c0 = await cpuSeconds(detector.pid);
      const t0 = performance.now();
      const sent = (await Promise.all(conns.map((c) => pump(c, frame, seconds * 1000))))
        .reduce((a, b) => a + b, 0);
      // While the server is saturated its HTTP answers wait; the count is complete once it drained.
      while (await accepted() < f0 + sent) await sleep(20);
      const elapsed = (performance.now() - t0) / 1000;
      const c1 = await cpuSeconds(detector.pid);
      const fps = sent / elapsed;
      rows.push({
        connections: n,
        frame: `${label} (${jpeg.byteLength} B)`,
        fps,
        mbps: fps * jpeg.byteLength / 1e6,
        cpuPct: (c1 - c0) / elapsed * 100,
      });
      await sleep(500);
    }
  }
} finally {
  await detector.stop();
}

console.log(machineLine());
console.log(
  `WebSocket push, one [length][JPEG] message per frame, sent for ${seconds} s per row and ` +
    `counted until the server has taken them all; server CPU in % of one core\n`,
);
console.log(markdownTable(
  ["connections", "frame", "frames/s accepted", "MB/s", "server CPU %"],
  rows.map((
    r,
  ) => [r.connections, r.frame, Math.round(r.fps), fixed(r.mbps, 1), fixed(r.cpuPct, 0)]),
));
