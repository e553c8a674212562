/** Shared readers: one ffmpeg per camera URL however many consumers, crops per consumer. */
import assert from "node:assert/strict";
import { FrameCache } from "../../src/core/frame_cache.ts";
import {
  applyCrop,
  CropError,
  liveChildPids,
  liveFfmpegChildren,
  normalizeSourceUrl,
  SharedReaders,
} from "../../src/sources/shared_readers.ts";
import { eventually } from "../harness/process.ts";
import { startRtspServer } from "../harness/rtsp_server.ts";
import { makeTestVideo } from "../harness/video.ts";

/** ffmpeg processes whose parent is this process, read from /proc (not only our own records). */
function ffmpegChildrenInProc(): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m && m[1] === "ffmpeg" && Number(m[3]) === Deno.pid) out.push(Number(e.name));
    } catch {
      // exited meanwhile
    }
  }
  return out.sort();
}

Deno.test("shared readers: two consumers of one URL start one ffmpeg; last release stops it", async () => {
  const server = await startRtspServer({
    file: await makeTestVideo({ width: 320, height: 240, fps: 10, seconds: 120 }),
  });
  const cache = new FrameCache();
  const readers = new SharedReaders(cache, { stallTimeoutMs: 10_000 });
  const upper = server.url.replace("rtsp://127.0.0.1", "RTSP://127.0.0.1");
  try {
    const a = readers.acquire(server.url);
    const b = readers.acquire(upper);
    assert.equal(a.camera, b.camera, "same normalized URL, same reader");
    assert.equal(readers.size, 1);
    assert.equal(readers.refs(server.url), 2);
    const frame = await eventually(() => cache.latest(a.camera), "a frame", 20_000);
    const pids = liveChildPids("ffmpeg");
    assert.equal(pids.length, 1, "one ffmpeg for two consumers");
    assert.equal(liveFfmpegChildren(), 1);
    const inProc = ffmpegChildrenInProc();
    assert.ok(inProc.includes(pids[0]), `ffmpeg ${pids[0]} is our child (${inProc})`);
    assert.equal(a.status().detail?.pid, pids[0]);

    // Crops belong to each consumer; the shared frame stays whole.
    const [ca, cb] = await Promise.all([
      applyCrop(frame.jpeg, { x1: 0, y1: 0, x2: 160, y2: 120 }),
      applyCrop(frame.jpeg, { x1: 100, y1: 50, x2: 400, y2: 240 }, {
        width: frame.width,
        height: frame.height,
      }),
    ]);
    assert.deepEqual([ca.width, ca.height], [160, 120]);
    assert.deepEqual([cb.width, cb.height], [220, 190], "crop clamped to the frame");
    assert.equal(cache.latest(a.camera)!.width, 320);
    await assert.rejects(
      () => applyCrop(frame.jpeg, { x1: 200, y1: 0, x2: 100, y2: 50 }),
      CropError,
    );

    await a.release();
    await a.release(); // idempotent: must not drop b's reference
    assert.equal(readers.refs(server.url), 1);
    assert.deepEqual(liveChildPids("ffmpeg"), pids, "still running for the other consumer");
    const seq = cache.latest(b.camera)!.seq;
    await eventually(() => cache.latest(b.camera)!.seq > seq, "frames still flowing", 10_000);

    await b.release();
    assert.equal(readers.size, 0);
    assert.deepEqual(liveChildPids("ffmpeg"), [], "last release stops ffmpeg");
    assert.ok(!ffmpegChildrenInProc().includes(pids[0]), "and it is reaped, not a zombie");
    assert.equal(cache.has(a.camera), false, "cache slot dropped");
  } finally {
    await readers.stopAll();
    await server.stop();
  }
});

Deno.test("shared readers: credentials are kept for the reader but not in the camera key", async () => {
  const cache = new FrameCache();
  const readers = new SharedReaders(cache, {});
  const file = await makeTestVideo({ fps: 10, seconds: 3 });
  try {
    const lease = readers.acquire(`${file}#loop=1`);
    await eventually(() => cache.latest(lease.camera), "a frame from a file reader", 10_000);
    assert.equal(
      normalizeSourceUrl("RTSP://admin:pw@Cam.Example:554/Live?ch=1"),
      "rtsp://admin:pw@cam.example/Live?ch=1",
    );
    const other = readers.acquire("rtsp://admin:topsecret@127.0.0.1:1/x", { maxRetries: 0 });
    assert.equal(other.camera, "rtsp://admin:***@127.0.0.1:1/x");
    assert.ok(!JSON.stringify(readers.list()).includes("topsecret"));
    await other.release();
    await lease.release();
  } finally {
    await readers.stopAll();
  }
  assert.equal(liveFfmpegChildren(), 0);
});
