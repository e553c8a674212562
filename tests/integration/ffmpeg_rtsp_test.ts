/**
 * The ffmpeg source against a real RTSP server (GStreamer's gst-rtsp-server) fed by a generated
 * H.264 test video whose frame number is burnt in.
 */
import assert from "node:assert/strict";
import { FrameCache } from "../../src/core/frame_cache.ts";
import { FfmpegSource } from "../../src/sources/ffmpeg_source.ts";
import { liveChildPids } from "../../src/sources/ffmpeg_process.ts";
import { eventually } from "../harness/process.ts";
import { startRtspServer, startSilentPeer } from "../harness/rtsp_server.ts";
import { makeTestVideo, readFrameIndex } from "../harness/video.ts";

const FPS = 10;
const video = () => makeTestVideo({ width: 320, height: 240, fps: FPS, seconds: 120 });

function detail(src: FfmpegSource): Record<string, unknown> {
  return src.status().detail ?? {};
}

function procGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // A reused pid belongs to another program; a zombie ("Z") would be a hygiene bug.
    return !stat.includes("(ffmpeg)") && !stat.includes("(setpriv)");
  } catch {
    return true;
  }
}

Deno.test("rtsp: frames arrive with plausible timestamps and the stream facts", async () => {
  const server = await startRtspServer({ file: await video(), reportSends: true });
  const cache = new FrameCache();
  const src = new FfmpegSource("cam", server.url, cache, { stallTimeoutMs: 10_000 });
  try {
    src.start();
    const first = await eventually(() => cache.latest("cam"), "a first frame", 20_000);
    assert.equal(first.width, 320);
    assert.equal(first.height, 240);
    let seq = first.seq;
    let lastIndex = -1;
    let lastAt = 0;
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const f = await cache.next("cam", seq);
      seq = f.seq;
      const n = await readFrameIndex(f.jpeg);
      assert.ok(n !== null, "burnt-in frame number readable");
      assert.ok(n > lastIndex, `frame numbers increase (${n} after ${lastIndex})`);
      assert.ok(f.at >= lastAt, "arrival times never go back");
      const sent = server.sends().get(n * (1000 / FPS));
      assert.ok(sent !== undefined, `server reported sending frame ${n}`);
      const latency = f.at - sent;
      assert.ok(latency >= -5 && latency < 3000, `frame ${n} arrived ${latency} ms after sending`);
      latencies.push(latency);
      lastIndex = n;
      lastAt = f.at;
    }
    const d = detail(src);
    assert.equal(src.status().state, "live");
    assert.equal(d.ffmpeg, "running");
    assert.equal(d.mode, "mjpeg");
    assert.equal(d.transport, "tcp");
    assert.deepEqual(d.input, { codec: "h264", width: 320, height: 240, fps: FPS });
    assert.equal(d.inputFps, FPS);
    assert.equal(typeof d.pid, "number");
    assert.deepEqual(liveChildPids("ffmpeg"), [d.pid]);
    console.log(`latency ms: ${latencies.map((l) => l.toFixed(0)).join(" ")}`);
  } finally {
    await src.stop();
    await server.stop();
  }
  assert.deepEqual(liveChildPids("ffmpeg"), [], "ffmpeg reaped after stop");
});

Deno.test("rtsp: server stopped and restarted → source reconnects and frames resume", async () => {
  const file = await video();
  let server = await startRtspServer({ file });
  const cache = new FrameCache();
  const src = new FfmpegSource("cam", server.url, cache, { stallTimeoutMs: 3000 });
  try {
    src.start();
    await eventually(() => cache.latest("cam"), "frames before the restart", 20_000);
    const firstPid = detail(src).pid as number;
    await server.stop();
    await eventually(() => src.status().state !== "live", "the source noticing", 15_000);
    const seqDown = cache.latest("cam")!.seq;
    server = await startRtspServer({ file, port: server.port });
    await eventually(() => cache.latest("cam")!.seq > seqDown + 5, "frames resuming", 30_000);
    assert.equal(src.status().state, "live");
    assert.ok((detail(src).restarts as number) >= 1, "restart counted");
    assert.notEqual(detail(src).pid, firstPid, "a new ffmpeg runs");
    assert.ok(procGone(firstPid), "the old ffmpeg is reaped");
  } finally {
    await src.stop();
    await server.stop();
  }
});

Deno.test("rtsp: a server that accepts but never answers → stall restart", async () => {
  const peer = startSilentPeer();
  const cache = new FrameCache();
  const src = new FfmpegSource("cam", peer.url, cache, {
    stallTimeoutMs: 3000, // long enough for ffmpeg to start and connect on a loaded machine
    timeoutMs: 60_000, // ffmpeg's own socket timeout must not be what ends the run
  });
  try {
    src.start();
    // Under load ffmpeg can take seconds to start and connect: wait for both.
    await eventually(
      () => (detail(src).stalls as number) >= 2 && peer.accepted() >= 2,
      "two stalls after connecting",
      60_000,
    );
    assert.ok(peer.accepted() >= 2, `ffmpeg reconnected (${peer.accepted()} connections)`);
    assert.match(src.status().lastError ?? "", /stalled: no frame for 3 s/);
    assert.equal(detail(src).reason, "stalled");
    assert.equal(cache.latest("cam"), undefined);
    assert.ok(liveChildPids("ffmpeg").length <= 1, "never more than one ffmpeg");
  } finally {
    await src.stop();
    peer.stop();
  }
  assert.deepEqual(liveChildPids("ffmpeg"), []);
});

Deno.test("rtsp: wrong path → status says 404 not found; max_retries gives up", async () => {
  const server = await startRtspServer({ file: await video(), mount: "/right" });
  const cache = new FrameCache();
  const src = new FfmpegSource("cam", server.url.replace("/right", "/wrong"), cache, {
    maxRetries: 1,
  });
  try {
    src.start();
    await eventually(() => detail(src).reason === "not_found", "a 404 status", 20_000);
    assert.match(src.status().lastError ?? "", /404 Not Found/);
    assert.match(src.status().lastError ?? "", /path not found/);
    await eventually(() => src.status().state === "stopped", "giving up", 20_000);
    assert.match(src.status().lastError ?? "", /gave up after 1 retries/);
    assert.deepEqual(liveChildPids("ffmpeg"), []);
  } finally {
    await src.stop();
    await server.stop();
  }
});

Deno.test("rtsp: wrong credentials → 401 status, password never shown", async () => {
  const password = "s3cr3t-Pw";
  const wrong = "Wr0ng-Secret";
  const server = await startRtspServer({ file: await video(), user: "admin", password });
  const cache = new FrameCache();
  const at = (pw: string) => server.url.replace("rtsp://", `rtsp://admin:${pw}@`);
  const bad = new FfmpegSource("bad", at(wrong), cache, {});
  const good = new FfmpegSource("good", at(password), cache, {});
  try {
    bad.start();
    good.start();
    await eventually(() => detail(bad).reason === "unauthorized", "a 401 status", 20_000);
    assert.match(bad.status().lastError ?? "", /401 Unauthorized/);
    await eventually(() => cache.latest("good"), "frames with the right password", 20_000);
    const shown = JSON.stringify([bad.status(), good.status(), cache.allStats()]);
    assert.ok(!shown.includes(wrong), "wrong password not in status");
    assert.ok(!shown.includes(password), "password not in status");
    assert.match(shown, /admin:\*\*\*@/);
  } finally {
    await bad.stop();
    await good.stop();
    await server.stop();
  }
});
