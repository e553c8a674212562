/**
 * Source passwords can live in a secrets file or the environment: `serve` authenticates with them
 * while its command line (what `ps` shows, /proc/PID/cmdline) and its output never contain them.
 */
import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { startCameraServer } from "../harness/digest_server.ts";
import { noisyJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import { snapshot } from "./source_helpers.ts";

const FILE_PASSWORD = "f1le-p@ss/w:rd";
const ENV_PASSWORD = "env-Secret-42";

Deno.test("serve: passwords from --secrets-file and the environment never show in ps", async () => {
  const dir = await Deno.makeTempDir({ prefix: "secrets_" });
  const jpeg = await noisyJpeg(64, 48, 1);
  const basic = startCameraServer({ auth: "basic", password: FILE_PASSWORD, jpeg: () => jpeg });
  const digest = startCameraServer({ auth: "digest", password: ENV_PASSWORD, jpeg: () => jpeg });
  const secrets = `${dir}/cameras.env`;
  await Deno.writeTextFile(secrets, `# camera passwords\nBASIC_PASS=${FILE_PASSWORD}\n`);
  await Deno.chmod(secrets, 0o600);
  const det = await startDetector([
    "serve",
    "--secrets-file",
    secrets,
    "--source",
    `basic=http://admin:\${BASIC_PASS}@127.0.0.1:${basic.port}/snap.jpg`,
    "--source",
    `digest=http://admin:\${DIGEST_PASS}@127.0.0.1:${digest.port}/snap.jpg`,
    "--snapshot-interval",
    "200ms",
  ], { DIGEST_PASS: ENV_PASSWORD });
  try {
    await eventually(() => snapshot(det.url, "basic"), "basic camera authenticated", 20_000);
    await eventually(() => snapshot(det.url, "digest"), "digest camera authenticated", 20_000);
    const cmdline = (await Deno.readTextFile(`/proc/${det.pid}/cmdline`)).replaceAll("\0", " ");
    assert.match(cmdline, /\$\{BASIC_PASS\}/);
    const cameras = await (await fetch(`${det.url}/cameras`)).text();
    for (const shown of [cmdline, cameras, det.output()]) {
      assert.ok(!shown.includes(FILE_PASSWORD), shown);
      assert.ok(!shown.includes(encodeURIComponent(FILE_PASSWORD)), shown);
      assert.ok(!shown.includes(ENV_PASSWORD), shown);
    }
  } finally {
    await det.stop();
    await basic.close();
    await digest.close();
    await Deno.remove(dir, { recursive: true });
  }
});
