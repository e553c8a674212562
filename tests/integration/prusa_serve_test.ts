/** The Prusa uploader inside `detector serve`: a consumer of the frame cache, no HTTP hop. */
import assert from "node:assert/strict";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { runDetector, startDetector } from "../harness/detector.ts";
import { startFakePrusa } from "../harness/fake_prusa.ts";
import { eventually } from "../harness/process.ts";

const TOKEN = "serveT0kenW4c7Hq1Ns9";

Deno.test("serve --prusa-*: uploads the chosen camera's cached frames; metrics count them", async () => {
  const fake = startFakePrusa({ token: TOKEN });
  const dir = await Deno.makeTempDir({ prefix: "prusa_serve_" });
  await Deno.writeTextFile(`${dir}/token`, TOKEN, { mode: 0o600 });
  const server = await startDetector([
    "serve",
    "--source",
    "other=testpattern:?fps=5&size=160x90",
    "--source",
    "printer=testpattern:?fps=5&size=320x180",
    "--prusa-token-file",
    `${dir}/token`,
    "--prusa-camera",
    "printer",
    "--prusa-interval",
    "300ms",
    "--prusa-server",
    fake.url,
    "--prusa-state-dir",
    `${dir}/state`,
  ]);
  try {
    await eventually(() => fake.acceptedSnapshots().length >= 3, "three snapshots", 30_000);
    for (const q of fake.requests) assert.deepEqual(q.problems, [], q.problems.join("; "));
    for (const q of fake.acceptedSnapshots()) {
      const c = checkJpeg(q.body);
      assert.ok(c.ok && c.info.width === 320 && c.info.height === 180, "the printer camera");
    }
    const info = JSON.parse(new TextDecoder().decode(fake.acceptedInfos()[0].body));
    assert.equal(info.config.name, "printer");
    assert.equal(fake.acceptedInfos().length, 1);

    const stored = [...Deno.readDirSync(`${dir}/state`)];
    assert.equal(stored.length, 1);
    const fingerprint = (await Deno.readTextFile(`${dir}/state/${stored[0].name}`)).trim();
    assert.equal(fake.requests[0].headers["fingerprint"], fingerprint);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /detector_prusa_uploads_total\{camera="printer",result="uploaded"\} \d+/);
    assert.ok(!server.output().includes(TOKEN), "token leaked into the output");
  } finally {
    const status = await server.stop();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, server.output());
  }
});

Deno.test("serve with a bad --prusa-* setting refuses to start and says why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "prusa_serve_" });
  try {
    for (
      const [args, message] of [
        [["--prusa-camera", "nope", "--prusa-token", TOKEN], /--prusa-camera "nope" is not one/],
        [["--prusa-camera", "cam"], /no Prusa Connect token: give --prusa-token-file/],
        [
          ["--prusa-token", TOKEN, "--prusa-fingerprint", "bad fingerprint with spaces"],
          /fingerprint from --prusa-fingerprint may only hold/,
        ],
      ] as [string[], RegExp][]
    ) {
      const child = runDetector(["serve", "--source", "cam=testpattern:", "--port", "0", ...args], {
        PRUSA_CONNECT_TOKEN: "",
        STATE_DIRECTORY: dir,
      });
      const status = await child.status;
      assert.equal(status.code, 2, child.output());
      assert.match(child.output(), message);
      assert.doesNotMatch(child.output(), /listening on/);
      assert.ok(!child.output().includes(TOKEN), "token leaked");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
