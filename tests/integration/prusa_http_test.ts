/** `prusa upload --from http://…/snapshot.jpg` of a real `detector serve` child (seed 001's layout). */
import assert from "node:assert/strict";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { runDetector, startDetector } from "../harness/detector.ts";
import { startFakePrusa } from "../harness/fake_prusa.ts";
import { freePort } from "../harness/ports.ts";
import { eventually } from "../harness/process.ts";

const TOKEN = "httpT0kenC5v9Ja2Bn7";
const FINGERPRINT = "http-test-fingerprint-0001";

Deno.test("from a serve child's /snapshot.jpg: one-shot and interval uploads", async () => {
  const fake = startFakePrusa({ token: TOKEN });
  const serve = await startDetector(["serve", "--source", "cam=testpattern:?fps=5&size=160x120"]);
  try {
    const args = ["--fingerprint", FINGERPRINT, "--server", fake.url];
    const once = runDetector(
      ["prusa", "upload", "--from", `${serve.url}/snapshot.jpg`, ...args],
      { PRUSA_CONNECT_TOKEN: TOKEN },
    );
    const status = await once.status;
    assert.equal(status.code, 0, once.output());
    assert.equal(fake.acceptedSnapshots().length, 1);
    const c = checkJpeg(fake.acceptedSnapshots()[0].body);
    assert.ok(c.ok && c.info.width === 160 && c.info.height === 120);

    const looping = runDetector([
      "prusa",
      "upload",
      "--from",
      `${serve.url}/cameras/cam/snapshot.jpg`,
      ...args,
      "--interval",
      "300ms",
    ], { PRUSA_CONNECT_TOKEN: TOKEN });
    try {
      await eventually(() => fake.acceptedSnapshots().length >= 4, "interval uploads", 30_000);
      for (const q of fake.requests) assert.deepEqual(q.problems, [], q.problems.join("; "));
    } finally {
      const s = await looping.stop();
      assert.equal(s.code, 0, looping.output());
    }
    assert.ok(!(once.output() + looping.output()).includes(TOKEN), "token leaked");
  } finally {
    await serve.stop();
    await fake.close();
  }
});

Deno.test("a snapshot URL answering 503 (no frame yet): exit 3 naming the source's error", async () => {
  const fake = startFakePrusa({ token: TOKEN });
  // The camera behind serve is down, so serve answers 503 until a first frame that never comes.
  const serve = await startDetector(["serve", "--source", `cam=tcp://127.0.0.1:${freePort()}`]);
  try {
    const child = runDetector([
      "prusa",
      "upload",
      "--from",
      `${serve.url}/snapshot.jpg`,
      "--fingerprint",
      FINGERPRINT,
      "--server",
      fake.url,
      "--source-timeout",
      "2s",
    ], { PRUSA_CONNECT_TOKEN: TOKEN });
    const status = await child.status;
    assert.equal(status.code, 3, child.output());
    assert.match(
      child.output(),
      /no frame from http:\/\/127\.0\.0\.1:\d+\/snapshot\.jpg within 2000 ms/,
    );
    assert.match(child.output(), /503/);
    assert.equal(fake.requests.length, 0);
  } finally {
    await serve.stop();
    await fake.close();
  }
});
