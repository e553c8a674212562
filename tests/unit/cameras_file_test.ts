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

Deno.test("cameras file: fps and size become options of the camera's source", async () => {
  const f = await parseCamerasFile(
    [
      "cameras:",
      "  demo: {source: 'testpattern:', fps: 5, size: 320x240}",
      "  door: {source: 'rtsp://cam/s#transport=udp', fps: 2, size: 640x360}",
      "  desk: {source: 'v4l2:/dev/video0', size: 1280x720}",
    ].join("\n"),
    "c.yaml",
    none,
  );
  assert.deepEqual(Object.fromEntries(f.cameras.map((c) => [c.name, c.spec])), {
    demo: "testpattern:?fps=5&size=320x240",
    door: "rtsp://cam/s#transport=udp&fps=2&scale=640x360",
    desk: "v4l2:/dev/video0#size=1280x720",
  });
  await assert.rejects(
    parseCamerasFile("cameras:\n  f: {source: 'dir:/x', fps: 2}\n", "c.yaml", none),
    /camera "f": fps and size apply to .* not dir sources/,
  );
  await assert.rejects(
    parseCamerasFile("cameras:\n  f: {source: 'testpattern:', size: huge}\n", "c.yaml", none),
    /camera "f": "size" expects WIDTHxHEIGHT/,
  );
});

Deno.test("cameras file: an alias bomb is refused with the file's name, not expanded", async () => {
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 8; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
  }
  levels.push("cameras: *h");
  await assert.rejects(
    parseCamerasFile(levels.join("\n") + "\n", "bomb.yaml", none),
    /^ConfigError: bomb\.yaml: .*alias/i,
  );
});
