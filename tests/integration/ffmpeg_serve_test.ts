/**
 * `detector serve` with RTSP cameras: /cameras shows ffmpeg's state and input fps, passwords stay
 * hidden, and no ffmpeg outlives the detector (SIGTERM, and even SIGKILL).
 */
import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { eventually } from "../harness/process.ts";
import { startRtspServer } from "../harness/rtsp_server.ts";
import { makeTestVideo } from "../harness/video.ts";

interface CameraView {
  name: string;
  state: string;
  fps: number;
  lastError: string | null;
  source: string | null;
  detail: Record<string, unknown>;
}

/** Pids of ffmpeg processes whose parent is `parent` (read from /proc). */
function ffmpegChildrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(Deno.readTextFileSync(`/proc/${e.name}/stat`));
      if (m && m[1] === "ffmpeg" && Number(m[3]) === parent) out.push(Number(e.name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** True when the pid no longer names an ffmpeg process (gone and reaped, not a zombie). */
function ffmpegGone(pid: number): boolean {
  try {
    return !Deno.readTextFileSync(`/proc/${pid}/stat`).includes("(ffmpeg)");
  } catch {
    return true;
  }
}

async function cameras(url: string): Promise<CameraView[]> {
  const r = await fetch(`${url}/cameras`);
  assert.equal(r.status, 200);
  return await r.json();
}

const PASSWORD = "Serve-Pa55word";

Deno.test("serve: rtsp cameras in /cameras, secrets hidden, SIGTERM leaves no ffmpeg", async () => {
  const file = await makeTestVideo({ width: 320, height: 240, fps: 10, seconds: 120 });
  const server = await startRtspServer({ file, user: "viewer", password: PASSWORD });
  const withPw = (pw: string, path = "/test") =>
    server.url.replace("rtsp://", `rtsp://viewer:${pw}@`).replace("/test", path);
  const detector = await startDetector([
    "serve",
    "--source",
    `cam=${withPw(PASSWORD)}`,
    "--source",
    `locked=${withPw("not-" + PASSWORD)}`,
    "--source",
    `nopath=${withPw(PASSWORD, "/nothing")}`,
    "--stall-timeout",
    "8s",
  ]);
  let pids: number[] = [];
  try {
    const live = await eventually(
      async () => {
        const cams = await cameras(detector.url);
        const cam = cams.find((c) => c.name === "cam");
        return cam?.state === "live" && cam.fps > 0 ? cams : undefined;
      },
      "cam live in /cameras",
      30_000,
    );
    const cam = live.find((c) => c.name === "cam")!;
    assert.equal(cam.detail.ffmpeg, "running");
    assert.equal(cam.detail.inputFps, 10);
    assert.equal(typeof cam.detail.pid, "number");
    assert.equal(cam.source, server.url.replace("rtsp://", "rtsp://viewer:***@"));

    const cams = await eventually(
      async () => {
        const all = await cameras(detector.url);
        const ok = all.find((c) => c.name === "locked")?.detail.reason === "unauthorized" &&
          all.find((c) => c.name === "nopath")?.detail.reason === "not_found";
        return ok ? all : undefined;
      },
      "401 and 404 reasons",
      30_000,
    );
    assert.match(cams.find((c) => c.name === "locked")!.lastError!, /401 Unauthorized/);
    assert.match(cams.find((c) => c.name === "nopath")!.lastError!, /404 Not Found/);

    const stream = await fetch(`${detector.url}/cameras/cam/stream.mjpg`);
    const reader = stream.body!.getReader();
    const { value } = await reader.read();
    assert.ok(value && value.length > 0, "MJPEG bytes flow");
    await reader.cancel();

    const metrics = await (await fetch(`${detector.url}/metrics`)).text();
    assert.match(metrics, /detector_ffmpeg_children \d/);
    assert.match(
      metrics,
      /detector_source_reconnects_total\{camera="locked",reason="unauthorized"\}/,
    );

    pids = ffmpegChildrenOf(detector.pid);
    assert.ok(pids.includes(cam.detail.pid as number), `ffmpeg ${cam.detail.pid} in ${pids}`);
    const shown = JSON.stringify(await cameras(detector.url)) + detector.output();
    assert.ok(!shown.includes(PASSWORD), "password in neither /cameras nor logs");
  } finally {
    const status = await detector.stop(8000);
    await server.stop();
    assert.equal(status.code, 0, "clean exit on SIGTERM");
  }
  for (const pid of pids) assert.ok(ffmpegGone(pid), `ffmpeg ${pid} gone after SIGTERM`);
  // ffmpeg was stopped by the detector's SIGTERM, not by the parent-death SIGKILL.
  assert.match(detector.output(), /received signal 15/);
  assert.deepEqual(ffmpegChildrenOf(detector.pid), []);
});

Deno.test("serve: ffmpeg dies with a SIGKILLed detector (parent-death signal)", async () => {
  const file = await makeTestVideo({ width: 320, height: 240, fps: 10, seconds: 120 });
  const server = await startRtspServer({ file });
  const detector = await startDetector(["serve", "--source", `cam=${server.url}`]);
  let pid = 0;
  try {
    const cam = await eventually(
      async () => {
        const c = (await cameras(detector.url)).find((c) => c.name === "cam");
        return c?.state === "live" ? c : undefined;
      },
      "cam live",
      30_000,
    );
    pid = cam.detail.pid as number;
    assert.ok(ffmpegChildrenOf(detector.pid).includes(pid));
    detector.proc.kill("SIGKILL");
    await detector.status;
    await eventually(() => ffmpegGone(pid), `ffmpeg ${pid} gone after SIGKILL`, 10_000);
  } finally {
    await detector.stop();
    await server.stop();
  }
});
