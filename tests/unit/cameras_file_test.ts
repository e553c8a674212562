import assert from "node:assert/strict";
import { parseCamerasFile } from "../../src/config/cameras_file.ts";
import { resolveSettings } from "../../src/config/mod.ts";
import { serveSettings } from "../../src/cli/serve.ts";

const none = () => undefined;

Deno.test("cameras file: settings named like serve's flags go through the resolver", async () => {
  const f = await parseCamerasFile(
    "port: 9000\ntarget-fps: 5\nprusa-camera: door\nauth-token: [a, b]\nmetrics-open: true\n",
    "c.yaml",
    none,
  );
  const r = resolveSettings(serveSettings, { port: "9100" }, none, f.settings);
  assert.equal(r.values.port, 9100, "a flag wins over the file");
  assert.equal(r.values.targetFps, 5);
  assert.equal(r.values.prusaCamera, "door", "prefixed flags keep their prefix as key");
  assert.deepEqual(r.values.authToken, ["a", "b"]);
  assert.equal(r.values.metricsOpen, true);
  assert.deepEqual(r.unknownFileKeys, []);
  const env = (n: string) => (n === "TARGET_FPS" ? "7" : undefined);
  assert.equal(resolveSettings(serveSettings, {}, env, f.settings).values.targetFps, 7);
});

Deno.test("cameras file: an empty file and an empty cameras map are fine", async () => {
  assert.deepEqual((await parseCamerasFile("", "c.yaml", none)).cameras, []);
  assert.deepEqual((await parseCamerasFile("cameras:\n", "c.yaml", none)).cameras, []);
  assert.deepEqual(
    (await parseCamerasFile('{"cameras": {"a": "dir:/x"}}', "c.json", none)).cameras,
    [{ name: "a", spec: "dir:/x", line: 1 }],
    "JSON is YAML",
  );
});

Deno.test("cameras file: duplicate keys and passwords without a user are errors", async () => {
  await assert.rejects(
    parseCamerasFile("cameras:\n  a: dir:/x\n  a: dir:/y\n", "c.yaml", none),
    /c\.yaml:3:\d+: Map keys must be unique/,
  );
  await assert.rejects(
    parseCamerasFile(
      "cameras:\n  a:\n    source: rtsp://cam/x\n    password-env: PW\n",
      "c.yaml",
      (n) => (n === "PW" ? "x" : undefined),
    ),
    /c\.yaml:2: "cameras\.a": camera "a": a password needs a user in the source URL/,
  );
});
