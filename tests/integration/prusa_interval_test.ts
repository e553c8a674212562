/** `detector prusa upload --interval`: one open source, never ends on server or auth errors. */
import assert from "node:assert/strict";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { runDetector } from "../harness/detector.ts";
import { startFakePrusa } from "../harness/fake_prusa.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";

const TOKEN = "intervalT0kenQ8m2Lr5Zx";
const FINGERPRINT = "interval-test-fingerprint-01";

Deno.test("interval mode survives a 500 burst and a 401 period, info sent once", async () => {
  const fake = startFakePrusa({ token: TOKEN });
  const dir = await Deno.makeTempDir({ prefix: "prusa_interval_" });
  await Deno.writeTextFile(`${dir}/token`, TOKEN, { mode: 0o600 });
  const child = runDetector([
    "prusa",
    "upload",
    "--from",
    "testpattern:?fps=10&size=240x160",
    "--token-file",
    `${dir}/token`,
    "--fingerprint",
    FINGERPRINT,
    "--server",
    fake.url,
    "--interval",
    "200ms",
    "--auth-retry",
    "1s",
  ]);
  try {
    await eventually(() => fake.acceptedSnapshots().length >= 2, "first snapshots", 30_000);

    fake.queue(500, 500, 500, 503);
    await eventually(
      () => fake.requests.filter((q) => q.answer === 500 || q.answer === 503).length === 4,
      "the 5xx burst to be served",
      20_000,
    );
    const afterBurst = fake.acceptedSnapshots().length;
    await eventually(
      () => fake.acceptedSnapshots().length >= afterBurst + 2,
      "uploads to resume after the 5xx burst",
      20_000,
    );

    fake.queue(401, 401);
    await eventually(
      () => fake.requests.filter((q) => q.answer === 401).length === 2,
      "the 401 period to be served",
      20_000,
    );
    const afterAuth = fake.acceptedSnapshots().length;
    await eventually(
      () => fake.acceptedSnapshots().length >= afterAuth + 2,
      "uploads to resume after the 401 period",
      20_000,
    );

    // The 401s were retried after the long auth backoff, not at the upload interval.
    const times = fake.requests.map((q) => q.at);
    const i401 = fake.requests.findIndex((q) => q.answer === 401);
    assert.ok(times[i401 + 1] - times[i401] >= 450, "auth retry waited for --auth-retry");

    assert.equal(fake.acceptedInfos().length, 1, "resolution unchanged: /c/info sent once");
    for (const q of fake.requests) {
      assert.deepEqual(q.problems, [], q.problems.join("; "));
      assert.equal(q.headers["fingerprint"], FINGERPRINT);
    }
    const last = checkJpeg(fake.acceptedSnapshots().at(-1)!.body);
    assert.ok(last.ok && last.info.width === 240);

    const out = child.output();
    assert.match(out, /HTTP 500/);
    assert.match(out, /HTTP 401/);
    assert.match(out, /Add new other camera/);
    assert.ok(!out.includes(TOKEN), "token leaked into the output");
  } finally {
    const status = await child.stop();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, child.output());
  }
});

Deno.test("interval mode: resolution change re-sends /c/info; stale file skipped, not uploaded", async () => {
  const fake = startFakePrusa({ token: TOKEN });
  const dir = await Deno.makeTempDir({ prefix: "prusa_interval_" });
  const file = `${dir}/frame.jpg`;
  await Deno.writeFile(file, await solidJpeg(320, 240));
  const child = runDetector([
    "prusa",
    "upload",
    "--from",
    file,
    "--fingerprint",
    FINGERPRINT,
    "--server",
    fake.url,
    "--interval",
    "200ms",
    "--max-age",
    "60s",
  ], { PRUSA_CONNECT_TOKEN: TOKEN });
  let exited = false;
  child.status.then(() => exited = true);
  try {
    await eventually(() => fake.acceptedSnapshots().length >= 1, "first snapshot", 30_000);
    await Deno.writeFile(`${file}.tmp`, await solidJpeg(640, 480, [10, 200, 10]));
    await Deno.rename(`${file}.tmp`, file);
    await eventually(() => fake.acceptedInfos().length >= 2, "info for the new size", 20_000);
    const infos = fake.acceptedInfos().map((q) =>
      JSON.parse(new TextDecoder().decode(q.body)).config.resolution
    );
    assert.deepEqual(infos.slice(0, 2), [{ width: 320, height: 240 }, { width: 640, height: 480 }]);
    await eventually(
      () => {
        const c = checkJpeg(fake.acceptedSnapshots().at(-1)!.body);
        return c.ok && c.info.width === 640;
      },
      "a snapshot of the new size",
      20_000,
    );

    const old = new Date(Date.now() - 10 * 60_000);
    await Deno.utime(file, old, old);
    await child.waitFor(/older than --max-age 60 s: not uploaded/, 20_000);
    const before = fake.requests.length;
    await child.waitFor(/(not uploaded[\s\S]*){3}/, 20_000);
    assert.equal(fake.requests.length, before, "stale frames are not sent");
    assert.equal(exited, false, "still running");
  } finally {
    const status = await child.stop();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, child.output());
  }
});

Deno.test("interval mode: after a 401 a corrected token file is picked up without a restart", async () => {
  const fake = startFakePrusa({ token: TOKEN });
  const dir = await Deno.makeTempDir({ prefix: "prusa_interval_" });
  const revoked = "revokedT0kenJ6n3Ds8Yq";
  await Deno.writeTextFile(`${dir}/token`, revoked, { mode: 0o600 });
  const child = runDetector([
    "prusa",
    "upload",
    "--from",
    "testpattern:?fps=5&size=200x100",
    "--token-file",
    `${dir}/token`,
    "--fingerprint",
    FINGERPRINT,
    "--server",
    fake.url,
    "--interval",
    "200ms",
    "--auth-retry",
    "600ms",
  ]);
  try {
    await eventually(
      () => fake.requests.filter((q) => q.answer === 401).length >= 2,
      "the revoked token to be refused twice",
      30_000,
    );
    assert.equal(fake.acceptedSnapshots().length, 0);
    await Deno.writeTextFile(`${dir}/token`, TOKEN + "\n", { mode: 0o600 });
    await eventually(
      () => fake.acceptedSnapshots().length >= 2,
      "uploads with the new token",
      20_000,
    );
    assert.equal(fake.acceptedInfos().length, 1);
    const out = child.output();
    assert.ok(!out.includes(TOKEN) && !out.includes(revoked), "a token leaked into the output");
  } finally {
    const status = await child.stop();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, child.output());
  }
});
