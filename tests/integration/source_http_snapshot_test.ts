import assert from "node:assert/strict";
import { VERSION } from "../../src/version.ts";
import { startDetector } from "../harness/detector.ts";
import { type CameraServer, startCameraServer } from "../harness/digest_server.ts";
import { noisyJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import { camera, metricSum, snapshot } from "./source_helpers.ts";

const PASSWORD = "Hunter2-very-secret";

/** A camera whose every snapshot is a different JPEG; `last` is the one sent most recently. */
async function changingFrames() {
  const frames = [
    await noisyJpeg(64, 48, 1),
    await noisyJpeg(64, 48, 2),
    await noisyJpeg(64, 48, 3),
  ];
  let n = 0;
  const state = {
    last: frames[0],
    next: () => state.last = frames[n++ % frames.length],
  };
  return state;
}

Deno.test("http snapshot: Digest MD5, Digest SHA-256 and Basic-only cameras are polled", async () => {
  const frames = await changingFrames();
  const servers: Record<string, CameraServer> = {
    md5: startCameraServer({
      auth: "digest",
      algorithm: "MD5",
      password: PASSWORD,
      jpeg: frames.next,
    }),
    sha: startCameraServer({
      auth: "digest",
      algorithm: "SHA-256",
      password: PASSWORD,
      jpeg: frames.next,
    }),
    basic: startCameraServer({ auth: "basic", password: PASSWORD, jpeg: frames.next }),
  };
  const sources = Object.entries(servers).flatMap(([name, s]) => [
    "--source",
    `${name}=http://admin:${PASSWORD}@127.0.0.1:${s.port}/cgi-bin/snapshot.cgi?channel=1`,
  ]);
  const det = await startDetector(["serve", ...sources, "--snapshot-interval", "200ms"]);
  try {
    for (const [name, server] of Object.entries(servers)) {
      const cam = await eventually(async () => {
        const c = await camera(det.url, name);
        return c.seq >= 3 ? c : undefined;
      }, `${name}: three snapshots`);
      assert.equal(cam.state, "live", name);
      assert.equal(cam.width, 64);
      assert.equal(cam.detail.auth, name === "basic" ? "basic" : "digest");
      assert.ok(server.stats.authorized >= 3, name);
      assert.equal(server.stats.rejected, 1, `${name}: one challenge, then accepted up front`);
      assert.ok(server.stats.userAgents.every((ua) => ua === `detector/${VERSION}`), name);
      const jpeg = await snapshot(det.url, name);
      assert.ok(jpeg && jpeg[0] === 0xff && jpeg[1] === 0xd8);
    }
    const list = await (await fetch(`${det.url}/cameras`)).text();
    assert.ok(!list.includes(PASSWORD), "password not in /cameras");
    assert.match(list, /http:\/\/admin:\*\*\*@127\.0\.0\.1/);
    assert.ok(!det.output().includes(PASSWORD), "password not in the log");
  } finally {
    await det.stop();
    for (const s of Object.values(servers)) await s.close();
  }
});

Deno.test("http snapshot: 401, 500, HTML, no answer and a stalled body each end in backoff, never a crash", async () => {
  const frames = await changingFrames();
  const jpeg = frames.next;
  const servers: Record<string, CameraServer> = {
    wrongpw: startCameraServer({ auth: "digest", password: "the-real-one", jpeg }),
    nocreds: startCameraServer({ auth: "basic", jpeg }),
    e500: startCameraServer({ behaviour: "500", jpeg }),
    html: startCameraServer({ behaviour: "html", jpeg }),
    hang: startCameraServer({ behaviour: "hang", jpeg }),
    stall: startCameraServer({ behaviour: "hangBody", jpeg }),
  };
  const userinfo = (name: string) => name === "nocreds" ? "" : `admin:${PASSWORD}@`;
  const sources = Object.entries(servers).flatMap(([name, s]) => [
    "--source",
    `${name}=http://${userinfo(name)}127.0.0.1:${s.port}/snap.jpg`,
  ]);
  const det = await startDetector([
    "serve",
    ...sources,
    "--snapshot-interval",
    "200ms",
    "--timeout",
    "1s",
  ]);
  try {
    const expected: Record<string, RegExp> = {
      wrongpw:
        /^HTTP 401 Unauthorized from http:\/\/127\.0\.0\.1:\d+\/snap\.jpg \(credentials rejected\)$/,
      nocreds: /^HTTP 401 Unauthorized from .* \(no credentials in the URL\)$/,
      e500: /^HTTP 500 Internal Server Error from http:\/\/127\.0\.0\.1:\d+\/snap\.jpg$/,
      html: /content-type "text\/html; charset=utf-8", not image\/jpeg/,
      hang: /^no answer from http:\/\/127\.0\.0\.1:\d+\/snap\.jpg within 1000 ms$/,
      stall: /^no answer from .* within 1000 ms$/,
    };
    for (const [name, pattern] of Object.entries(expected)) {
      const cam = await eventually(async () => {
        const c = await camera(det.url, name);
        return c.state === "backoff" && pattern.test(c.lastError ?? "") ? c : undefined;
      }, `${name}: backoff with an error matching ${pattern}`).catch(async (err) => {
        throw new Error(`${err.message}; now: ${JSON.stringify(await camera(det.url, name))}`);
      });
      assert.equal(cam.seq, 0, name);
      assert.ok(!cam.lastError!.includes(PASSWORD), name);
    }
    assert.ok(await metricSum(det.url, "detector_frames_rejected_total", "html") >= 1);
    assert.ok(servers.wrongpw.stats.rejected >= 2, "Digest was tried with the wrong password");
    assert.ok(!det.output().includes(PASSWORD), "password not in the log");
    assert.ok(!(await (await fetch(`${det.url}/metrics`)).text()).includes(PASSWORD));

    servers.e500.setBehaviour("ok");
    await eventually(
      async () => {
        const c = await camera(det.url, "e500");
        return c.state === "live" && c.seq >= 1;
      },
      "the camera that answered 500 to recover",
      20_000,
    );
    assert.equal((await fetch(`${det.url}/healthz`)).status, 200);
  } finally {
    await det.stop();
    for (const s of Object.values(servers)) await s.close();
  }
});
