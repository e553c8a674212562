/** `detector prusa upload` one-shot (cron) mode against a fake Prusa Connect server. */
import assert from "node:assert/strict";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { runDetector } from "../harness/detector.ts";
import { type FakePrusa, startFakePrusa } from "../harness/fake_prusa.ts";
import { noisyJpeg, solidJpeg } from "../harness/jpeg_fixtures.ts";

const TOKEN = "tok3nS3cr3tZq9xWv7Kp";
const FINGERPRINT = "detector-test-fingerprint-0001";

async function withFake(
  fn: (fake: FakePrusa, dir: string) => Promise<void>,
  opts: { fingerprint?: string } = {},
): Promise<void> {
  const fake = startFakePrusa({ token: TOKEN, ...opts });
  const dir = await Deno.makeTempDir({ prefix: "prusa_upload_" });
  try {
    await fn(fake, dir);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `prusa upload` to the end; returns its exit code and all of its output. */
async function upload(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const child = runDetector(["prusa", "upload", ...args], env);
  const timer = setTimeout(() => child.stop(), 60_000);
  const status = await child.status;
  clearTimeout(timer);
  return { code: status.code, output: child.output() };
}

/** The token, fingerprint and server flags of a good upload to the fake server. */
function credentials(server: string): string[] {
  return ["--token", TOKEN, "--fingerprint", FINGERPRINT, "--server", server];
}

function assertNoToken(output: string, token = TOKEN) {
  assert.ok(!output.includes(token), `token leaked into output:\n${output}`);
}

Deno.test("one-shot upload of a JPEG file: info then snapshot, right headers and body", async () => {
  await withFake(async (fake, dir) => {
    const jpeg = await solidJpeg(320, 240);
    const file = `${dir}/frame.jpg`;
    await Deno.writeFile(file, jpeg);
    const r = await upload([
      "--from",
      file,
      ...credentials(fake.url),
      "--name",
      "XL cam",
    ]);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(fake.requests.map((q) => `${q.method} ${q.path}`), [
      "PUT /c/info",
      "PUT /c/snapshot",
    ]);
    for (const q of fake.requests) {
      assert.deepEqual(q.problems, [], `${q.path}: ${q.problems.join("; ")}`);
      assert.equal(q.headers["token"], TOKEN);
      assert.equal(q.headers["fingerprint"], FINGERPRINT);
    }
    const snap = fake.acceptedSnapshots()[0];
    assert.equal(snap.headers["content-type"], "image/jpg");
    assert.deepEqual(snap.body, jpeg);
    const info = JSON.parse(new TextDecoder().decode(fake.acceptedInfos()[0].body));
    assert.equal(info.config.name, "XL cam");
    assert.deepEqual(info.config.resolution, { width: 320, height: 240 });
    assert.equal(typeof info.config.firmware, "string");
    assert.equal(typeof info.config.manufacturer, "string");
    assert.equal(typeof info.config.model, "string");
    assert.match(r.output, /snapshot uploaded/);
    assertNoToken(r.output);
  });
});

Deno.test("one-shot from a live source; token from a file, fingerprint generated and reused", async () => {
  await withFake(async (fake, dir) => {
    const tokenFile = `${dir}/token`;
    await Deno.writeTextFile(tokenFile, TOKEN + "\n", { mode: 0o600 });
    const args = [
      "--from",
      "testpattern:?fps=5&size=200x120",
      "--token-file",
      tokenFile,
      "--server",
      fake.url,
      "--state-dir",
      `${dir}/state`,
    ];
    const first = await upload(args);
    assert.equal(first.code, 0, first.output);
    const stored = [...Deno.readDirSync(`${dir}/state`)].map((e) => e.name);
    assert.equal(stored.length, 1);
    assert.match(stored[0], /^prusa-fingerprint-[0-9a-f]{12}$/);
    const fingerprint = (await Deno.readTextFile(`${dir}/state/${stored[0]}`)).trim();
    assert.ok(fingerprint.length >= 16 && fingerprint.length <= 64);
    const second = await upload(args);
    assert.equal(second.code, 0, second.output);
    assert.equal(fake.acceptedSnapshots().length, 2);
    for (const q of fake.requests) assert.equal(q.headers["fingerprint"], fingerprint);
    const snap = checkJpeg(fake.acceptedSnapshots()[1].body);
    assert.ok(snap.ok && snap.info.width === 200 && snap.info.height === 120);
    assertNoToken(first.output + second.output);
  });
});

Deno.test("401 from Connect: exit 4, tells what to do, token never shown (env token)", async () => {
  await withFake(async (fake, dir) => {
    const file = `${dir}/frame.jpg`;
    await Deno.writeFile(file, await solidJpeg(64, 48));
    const wrong = "wr0ngT0kenDistinctive42";
    const r = await upload(
      ["--from", file, "--fingerprint", FINGERPRINT, "--server", fake.url],
      { PRUSA_CONNECT_TOKEN: wrong },
    );
    assert.equal(r.code, 4, r.output);
    assert.equal(fake.requests[0].answer, 401);
    assert.equal(fake.requests[0].headers["token"], wrong);
    assert.match(r.output, /HTTP 401/);
    assert.match(r.output, /Add new other camera/);
    assertNoToken(r.output, wrong);
    assert.equal(fake.acceptedSnapshots().length, 0);
  });
});

Deno.test("403 from Connect: exit 4 with the 'other camera' hint", async () => {
  await withFake(async (fake, dir) => {
    const file = `${dir}/frame.jpg`;
    await Deno.writeFile(file, await solidJpeg(64, 48));
    fake.setMode(403);
    const r = await upload([
      "--from",
      file,
      ...credentials(fake.url),
    ]);
    assert.equal(r.code, 4, r.output);
    assert.match(r.output, /HTTP 403/);
    assert.match(r.output, /type 'other'/);
    assertNoToken(r.output);
  });
});

Deno.test("5xx: retried with backoff, then exit 5", async () => {
  await withFake(async (fake, dir) => {
    const file = `${dir}/frame.jpg`;
    await Deno.writeFile(file, await solidJpeg(64, 48));
    fake.setMode(500);
    const r = await upload([
      "--from",
      file,
      ...credentials(fake.url),
      "--retries",
      "2",
    ]);
    assert.equal(r.code, 5, r.output);
    const snapshots = fake.requests.filter((q) => q.path === "/c/snapshot");
    assert.equal(snapshots.length, 3, "one attempt and two retries");
    assert.match(r.output, /HTTP 500/);
    assert.match(r.output, /retryInS=/);
    const last = r.output.trim().split("\n").at(-1) ?? "";
    assert.match(last, / ERROR .*upload failed/, "the failure is the last log line, at its level");
    assertNoToken(r.output);
  });
});

Deno.test("a server that never answers: timeout error, exit 5", async () => {
  await withFake(async (fake, dir) => {
    const file = `${dir}/frame.jpg`;
    await Deno.writeFile(file, await solidJpeg(64, 48));
    fake.setMode("hang");
    const r = await upload([
      "--from",
      file,
      ...credentials(fake.url),
      "--timeout",
      "500ms",
      "--retries",
      "0",
    ]);
    assert.equal(r.code, 5, r.output);
    assert.match(r.output, /no answer from http:\/\/127\.0\.0\.1:\d+ within 500 ms/);
    assert.equal(fake.requests.length, 1, "info timed out, snapshot not attempted");
  });
});

Deno.test("a connection reset is retried and the snapshot gets through", async () => {
  await withFake(async (fake, dir) => {
    const file = `${dir}/frame.jpg`;
    await Deno.writeFile(file, await noisyJpeg(320, 240));
    // fetch itself resends once on a reused keep-alive connection; the second reset reaches us.
    fake.queue(200, "reset", "reset");
    const r = await upload([
      "--from",
      file,
      ...credentials(fake.url),
    ]);
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(fake.requests.map((q) => `${q.path} ${q.answer}`), [
      "/c/info 200",
      "/c/snapshot reset",
      "/c/snapshot reset",
      "/c/snapshot 204",
    ]);
    assert.match(r.output, /upload failed error="PUT \/c\/snapshot: .* unreachable/);
    assert.equal(fake.acceptedSnapshots().length, 1);
  });
});

Deno.test("a stale frame is not uploaded: exit 3, says why", async () => {
  await withFake(async (fake, dir) => {
    const file = `${dir}/frame.jpg`;
    await Deno.writeFile(file, await solidJpeg(64, 48));
    const old = new Date(Date.now() - 5 * 60_000);
    await Deno.utime(file, old, old);
    const r = await upload([
      "--from",
      file,
      ...credentials(fake.url),
      "--max-age",
      "60s",
    ]);
    assert.equal(r.code, 3, r.output);
    assert.match(r.output, /older than --max-age 60 s: not uploaded/);
    assert.equal(fake.requests.length, 0);
  });
});

Deno.test("an oversized frame is re-encoded below --max-bytes; info has its size", async () => {
  await withFake(async (fake, dir) => {
    const big = await noisyJpeg(1280, 960, 7);
    const maxBytes = 60_000;
    assert.ok(big.byteLength > maxBytes * 4, `fixture too small: ${big.byteLength}`);
    const file = `${dir}/big.jpg`;
    await Deno.writeFile(file, big);
    const r = await upload([
      "--from",
      file,
      ...credentials(fake.url),
      "--max-bytes",
      String(maxBytes),
    ]);
    assert.equal(r.code, 0, r.output);
    const body = fake.acceptedSnapshots()[0].body;
    assert.ok(body.byteLength <= maxBytes, `uploaded ${body.byteLength} bytes`);
    const c = checkJpeg(body);
    assert.ok(c.ok);
    const info = JSON.parse(new TextDecoder().decode(fake.acceptedInfos()[0].body));
    assert.deepEqual(info.config.resolution, { width: c.info.width, height: c.info.height });
    assert.match(r.output, /re-encoded to fit --max-bytes/);
  });
});

Deno.test("bad inputs: each a clear error, the right exit code, nothing sent", async () => {
  await withFake(async (fake, dir) => {
    const file = `${dir}/frame.jpg`;
    await Deno.writeFile(file, await solidJpeg(64, 48));
    const base = ["--token", TOKEN, "--server", fake.url];

    const shortFp = await upload(["--from", file, ...base, "--fingerprint", "short"]);
    assert.equal(shortFp.code, 2, shortFp.output);
    assert.match(shortFp.output, /fingerprint from --fingerprint must be 16-64 characters/);

    const badChars = await upload([
      "--from",
      file,
      ...base,
      "--fingerprint",
      "this has spaces in it!!",
    ]);
    assert.equal(badChars.code, 2, badChars.output);
    assert.match(badChars.output, /may only hold letters, digits/);

    await Deno.writeTextFile(`${dir}/fp`, "x".repeat(80));
    const fpFile = await upload(["--from", file, ...base, "--fingerprint-file", `${dir}/fp`]);
    assert.equal(fpFile.code, 2, fpFile.output);
    assert.match(fpFile.output, /fingerprint from --fingerprint-file .*\/fp must be 16-64/);

    const noToken = await upload(["--from", file, "--server", fake.url], {
      PRUSA_CONNECT_TOKEN: "",
    });
    assert.equal(noToken.code, 2, noToken.output);
    assert.match(noToken.output, /no Prusa Connect token/);

    const missingTokenFile = await upload([
      "--from",
      file,
      "--token-file",
      `${dir}/nope`,
      "--server",
      fake.url,
    ]);
    assert.equal(missingTokenFile.code, 2, missingTokenFile.output);
    assert.match(missingTokenFile.output, /--token-file .*\/nope: no such file/);

    const spaced = await upload([
      "--from",
      file,
      "--token",
      "two words",
      "--fingerprint",
      FINGERPRINT,
      "--server",
      fake.url,
    ]);
    assert.equal(spaced.code, 2, spaced.output);
    assert.match(spaced.output, /token from --token holds spaces/);
    assertNoToken(spaced.output, "two words");

    const fp = ["--fingerprint", FINGERPRINT];
    const missing = await upload(["--from", `${dir}/missing.jpg`, ...base, ...fp]);
    assert.equal(missing.code, 3, missing.output);
    assert.match(missing.output, /cannot read .*missing\.jpg/);

    await Deno.writeTextFile(`${dir}/not.jpg`, "<html>not a jpeg</html>");
    const notJpeg = await upload(["--from", `${dir}/not.jpg`, ...base, ...fp]);
    assert.equal(notJpeg.code, 3, notJpeg.output);
    assert.match(notJpeg.output, /not\.jpg is not a complete JPEG/);

    const unknown = await upload(["--from", "gopher://x/y", ...base, ...fp]);
    assert.equal(unknown.code, 2, unknown.output);
    assert.match(unknown.output, /neither a JPEG file nor a known source/);

    const badServer = await upload([
      "--from",
      file,
      "--token",
      TOKEN,
      ...fp,
      "--server",
      "ftp://x",
    ]);
    assert.equal(badServer.code, 2, badServer.output);
    assert.match(badServer.output, /--server must be http\(s\):\/\//);

    assert.equal(fake.requests.length, 0);
  });
});

Deno.test("--dry-run: checks the frame, prints what would be sent, sends nothing", async () => {
  await withFake(async (fake, dir) => {
    const file = `${dir}/frame.jpg`;
    await Deno.writeFile(file, await solidJpeg(160, 90));
    const r = await upload([
      "--from",
      file,
      "--token",
      TOKEN,
      "--server",
      fake.url,
      "--state-dir",
      `${dir}/state`,
      "--dry-run",
    ]);
    assert.equal(r.code, 0, r.output);
    const printed = /^\{\n {2}"dryRun"[\s\S]*?\n\}$/m.exec(r.output);
    assert.ok(printed, r.output);
    const json = JSON.parse(printed[0]);
    assert.equal(json.dryRun, true);
    assert.equal(json.token, "set");
    assert.deepEqual(json.info.config.resolution, { width: 160, height: 90 });
    assert.equal(json.frame.bytes, (await Deno.stat(file)).size);
    assert.equal(fake.requests.length, 0);
    assertNoToken(r.output);
    await assert.rejects(Deno.stat(`${dir}/state`), Deno.errors.NotFound);
  });
});
