/** `detector probe`: a real RTSP server, a file, and the failures a user meets first. */
import assert from "node:assert/strict";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { runDetector } from "../harness/detector.ts";
import { startRtspServer } from "../harness/rtsp_server.ts";
import { makeTestVideo } from "../harness/video.ts";

Deno.test("probe: an RTSP stream reports codec, size, fps, latency and saves a frame", async () => {
  const server = await startRtspServer({
    file: await makeTestVideo({ width: 320, height: 240, fps: 10, seconds: 120 }),
  });
  const dir = await Deno.makeTempDir({ prefix: "detector-probe-" });
  try {
    const out = `${dir}/frame.jpg`;
    const child = runDetector(["probe", server.url, "-o", out, "--json", "--measure", "1s"]);
    const status = await child.status;
    assert.equal(status.code, 0, child.output());
    const report = JSON.parse(child.output().slice(child.output().indexOf("{\n")));
    assert.equal(report.ok, true);
    assert.deepEqual(
      [report.stream.codec, report.stream.width, report.stream.height, report.stream.fps],
      ["h264", 320, 240, 10],
    );
    assert.ok(report.firstFrameMs > 0);
    assert.ok(report.frames > 0 && report.deliveredFps > 0);
    const jpeg = await Deno.readFile(out);
    const check = checkJpeg(jpeg);
    assert.ok(check.ok && check.info.width === 320 && check.info.height === 240);

    const text = runDetector(["probe", server.url, "--measure", "500ms"]);
    assert.equal((await text.status).code, 0);
    assert.match(text.output(), /stream\s+h264 320x240 10 fps/);
    assert.match(text.output(), /first\s+frame after \d+\.\d\d s \(320x240 JPEG/);
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("probe: wrong credentials, wrong path, missing file and bad specs fail clearly", async () => {
  const password = "Pr0be-Secret";
  const server = await startRtspServer({
    file: await makeTestVideo({ width: 320, height: 240, fps: 10, seconds: 120 }),
    user: "u",
    password,
  });
  try {
    const wrongPw = server.url.replace("rtsp://", "rtsp://u:Wrong-Secret@");
    const denied = runDetector(["probe", wrongPw, "--timeout", "5s"]);
    assert.equal((await denied.status).code, 1);
    assert.match(denied.output(), /error\s+camera refused the credentials \(401 Unauthorized\)/);
    assert.ok(!denied.output().includes("Wrong-Secret"), "password not printed");
    assert.match(denied.output(), /rtsp:\/\/u:\*\*\*@/);

    const right = server.url.replace("rtsp://", `rtsp://u:${password}@`);
    const missing = runDetector(["probe", right.replace("/test", "/nope"), "--timeout", "5s"]);
    assert.equal((await missing.status).code, 1);
    assert.match(missing.output(), /404 Not Found/);

    const file = runDetector(["probe", "/nonexistent/clip.mp4", "--timeout", "5s"]);
    assert.equal((await file.status).code, 1);
    assert.match(file.output(), /error\s+file not found/);

    const bad = runDetector(["probe", "clip.mp4#speed=11"]);
    assert.equal((await bad.status).code, 2);
    assert.match(bad.output(), /unknown source option "speed"/);
  } finally {
    await server.stop();
  }
});
