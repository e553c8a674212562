import assert from "node:assert/strict";
import {
  defaults,
  minRunIntervalMs,
  readConfigFile,
  resolveRunConfig,
} from "../../src/cli/run_config.ts";

const noEnv = () => undefined;

Deno.test("defaults: port 8000 on all interfaces, 2 s heartbeat, 30 s grace", () => {
  const { config } = resolveRunConfig({}, noEnv);
  assert.deepEqual(config, defaults);
  assert.equal(config.port, 8000);
  assert.equal(config.heartbeatMs, 2000);
  assert.equal(config.graceMs, 30_000);
});

Deno.test("the original config.json keys are read; flags > env > file", () => {
  const file = {
    poll_interval_ms: 250,
    max_streams: 5,
    target_fps: 2,
    reconnect_interval_sec: 7,
    max_retries: 3,
    port: 9000,
    something_else: true,
  };
  const env = (n: string) =>
    ({ DETECTOR_MAX_STREAMS: "6", PORT: "9001" } as Record<string, string>)[n];
  const { config, unknownKeys } = resolveRunConfig({ port: 9002 }, env, file);
  assert.equal(config.pollIntervalMs, 250);
  assert.equal(config.maxStreams, 6, "env beats file");
  assert.equal(config.targetFps, 2);
  assert.equal(config.reconnectIntervalSec, 7);
  assert.equal(config.maxRetries, 3);
  assert.equal(config.port, 9002, "flag beats env and file");
  assert.deepEqual(unknownKeys, ["something_else"]);
  assert.equal(minRunIntervalMs(config), 500, "target_fps 2 is stricter than 250 ms");
});

Deno.test("bad values name the key and where it came from", () => {
  assert.throws(
    () => resolveRunConfig({}, noEnv, { max_streams: "many" }, "cfg.json"),
    /cfg.json: "max_streams" expects a number between 1 and 10000, got "many"/,
  );
  assert.throws(
    () => resolveRunConfig({}, noEnv, { max_retries: 1.5 }),
    /"max_retries" expects an integer/,
  );
  assert.throws(
    () => resolveRunConfig({}, (n) => (n === "DETECTOR_HEARTBEAT_SEC" ? "soon" : undefined)),
    /environment variable DETECTOR_HEARTBEAT_SEC expects a duration/,
  );
});

Deno.test("readConfigFile: missing file, bad JSON, not an object", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(readConfigFile(`${dir}/none.json`), /--config .*none.json/);
    await Deno.writeTextFile(`${dir}/bad.json`, "{");
    await assert.rejects(readConfigFile(`${dir}/bad.json`), /is not valid JSON/);
    await Deno.writeTextFile(`${dir}/arr.json`, "[1]");
    await assert.rejects(readConfigFile(`${dir}/arr.json`), /must hold a JSON object/);
    await Deno.writeTextFile(`${dir}/ok.json`, '{"max_streams": 3}');
    assert.deepEqual(await readConfigFile(`${dir}/ok.json`), { max_streams: 3 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("analysis size: 640 by default; full, a number, or an error naming the setting", () => {
  assert.equal(defaults.analysisSize, 640);
  assert.equal(resolveRunConfig({}, noEnv, { analysis_size: 1280 }).config.analysisSize, 1280);
  const env = (n: string) => (n === "DETECTOR_ANALYSIS_SIZE" ? "FULL" : undefined);
  assert.equal(resolveRunConfig({}, env).config.analysisSize, "full");
  assert.equal(resolveRunConfig({ analysisSize: "960" }, noEnv).config.analysisSize, 960);
  assert.throws(
    () => resolveRunConfig({}, noEnv, { analysis_size: "big" }, "cfg.json"),
    /cfg.json: "analysis_size" expects full or an integer between 32 and 8192, got "big"/,
  );
  assert.throws(
    () => resolveRunConfig({ analysisSize: "16" }, noEnv),
    /--analysis-size expects full or an integer between 32 and 8192/,
  );
});
