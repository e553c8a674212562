import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { type CameraServer, startCameraServer } from "../harness/digest_server.ts";
import { noisyJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import { camera, snapshot } from "./source_helpers.ts";

const PASSWORD = "mjpeg-secret-pw";

Deno.test("mjpeg+http: frames from a multipart camera behind Digest and from another detector", async () => {
  const frames = [await noisyJpeg(80, 60, 1), await noisyJpeg(80, 60, 2)];
  let n = 0;
  const cam = startCameraServer({
    auth: "digest",
    algorithm: "SHA-256",
    password: PASSWORD,
    behaviour: "multipart",
    fps: 20,
    jpeg: () => frames[n++ % 2],
  });
  const upstream = await startDetector([
    "serve",
    "--source",
    "demo=testpattern:?fps=10&size=320x180",
  ]);
  const det = await startDetector([
    "serve",
    "--source",
    `ipcam=mjpeg+http://admin:${PASSWORD}@127.0.0.1:${cam.port}/video.mjpg`,
    "--source",
    `relay=mjpeg+${upstream.url}/cameras/demo/stream.mjpg`,
  ]);
  try {
    const ipcam = await eventually(async () => {
      const c = await camera(det.url, "ipcam");
      return c.seq >= 10 ? c : undefined;
    }, "frames from the multipart camera");
    assert.equal(ipcam.state, "live");
    assert.equal(ipcam.width, 80);
    assert.equal(ipcam.detail.auth, "digest");
    assert.equal(cam.stats.requests, 2, "one challenge, one long-lived stream");
    const jpeg = await snapshot(det.url, "ipcam");
    assert.ok(frames.some((f) => f.length === jpeg?.length && f.every((b, i) => b === jpeg[i])));

    const relay = await eventually(
      async () => {
        const c = await camera(det.url, "relay");
        return c.seq >= 5 ? c : undefined;
      },
      "frames relayed from the other detector's /stream.mjpg",
      20_000,
    );
    assert.equal(relay.width, 320);
    assert.equal(relay.height, 180);
    assert.ok(!det.output().includes(PASSWORD));
  } finally {
    await det.stop();
    await upstream.stop();
    await cam.close();
  }
});

Deno.test("mjpeg+http: wrong content type, 500, 401 and a stalled stream end in backoff", async () => {
  const jpeg = await noisyJpeg(40, 30, 5);
  const servers: Record<string, CameraServer> = {
    still: startCameraServer({ behaviour: "ok", jpeg: () => jpeg }),
    e500: startCameraServer({ behaviour: "500", jpeg: () => jpeg }),
    wrongpw: startCameraServer({ auth: "basic", behaviour: "multipart", jpeg: () => jpeg }),
    stall: startCameraServer({ behaviour: "multipartStall", jpeg: () => jpeg }),
  };
  const sources = Object.entries(servers).flatMap(([name, s]) => [
    "--source",
    `${name}=mjpeg+http://admin:${PASSWORD}@127.0.0.1:${s.port}/video.mjpg`,
  ]);
  const det = await startDetector(["serve", ...sources, "--timeout", "1s"]);
  try {
    const expected: Record<string, RegExp> = {
      still: /answered HTTP 200 OK with content-type "image\/jpeg", not multipart\/x-mixed-replace/,
      e500: /^HTTP 500 Internal Server Error from http:\/\/127\.0\.0\.1:\d+\/video\.mjpg$/,
      wrongpw: /^HTTP 401 Unauthorized from .* \(credentials rejected\)$/,
      stall: /^no data for 1000 ms$/,
    };
    for (const [name, pattern] of Object.entries(expected)) {
      await eventually(async () => {
        const c = await camera(det.url, name);
        return pattern.test(c.lastError ?? "") && Number(c.detail.retries) >= 1;
      }, `${name}: an error matching ${pattern}`).catch(async (err) => {
        throw new Error(`${err.message}; now: ${JSON.stringify(await camera(det.url, name))}`);
      });
    }
    const stall = await camera(det.url, "stall");
    assert.ok(stall.seq >= 2, "the parts before the stall were served");
    await eventually(
      async () => (await camera(det.url, "stall")).seq >= stall.seq + 2,
      "the stalled stream to be reopened and deliver again",
    );
    assert.ok(servers.stall.stats.requests >= 2);
    assert.ok(!det.output().includes(PASSWORD));
  } finally {
    await det.stop();
    for (const s of Object.values(servers)) await s.close();
  }
});
