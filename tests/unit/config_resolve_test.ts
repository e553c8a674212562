import assert from "node:assert/strict";
import {
  commandSettings,
  describeSetting,
  formatBytes,
  formatDuration,
  resolveSettings,
  settings,
} from "../../src/config/mod.ts";
import { bytes, duration } from "../../src/config/value_types.ts";

const noEnv = () => undefined;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

const spec = commandSettings(["port", "host", "stallTimeout", "maxFrameBytes", "source"]);

Deno.test("precedence: flags > environment > config file > defaults", () => {
  const file = { name: "cameras.json", values: { port: 9000, host: "10.0.0.1" } };
  const only = resolveSettings(spec, {}, noEnv, file);
  assert.equal(only.values.port, 9000);
  assert.equal(only.origins.port, "file");
  assert.equal(only.values.stallTimeout, 10_000, "the default");
  assert.equal(only.origins.stallTimeout, "default");

  const env = envOf({ PORT: "9001", DETECTOR_STALL_TIMEOUT: "3s" });
  const withEnv = resolveSettings(spec, {}, env, file);
  assert.equal(withEnv.values.port, 9001);
  assert.equal(withEnv.origins.port, "env");
  assert.equal(withEnv.values.host, "10.0.0.1", "the file still holds for what env leaves");
  assert.equal(withEnv.values.stallTimeout, 3000);

  const withFlag = resolveSettings(spec, { port: "9002", source: ["a=testpattern:"] }, env, file);
  assert.equal(withFlag.values.port, 9002);
  assert.equal(withFlag.origins.port, "flag");
  assert.deepEqual(withFlag.values.source, ["a=testpattern:"]);
});

Deno.test("an empty environment variable counts as unset", () => {
  const r = resolveSettings(spec, {}, envOf({ PORT: "" }));
  assert.equal(r.values.port, 8080);
  assert.equal(r.origins.port, "default");
});

Deno.test("errors name where the bad value came from", () => {
  assert.throws(
    () => resolveSettings(spec, { port: "70000" }, noEnv),
    /^ConfigError: --port expects a number between 0 and 65535, got "70000"$/,
  );
  assert.throws(
    () => resolveSettings(spec, {}, envOf({ PORT: "many" })),
    /environment variable PORT expects a number between 0 and 65535, got "many"/,
  );
  assert.throws(
    () => resolveSettings(spec, {}, noEnv, { name: "cameras.json", values: { port: 1.5 } }),
    /cameras\.json: "port" expects an integer between 0 and 65535, got 1\.5/,
  );
  assert.throws(
    () => resolveSettings(spec, {}, envOf({ DETECTOR_STALL_TIMEOUT: "soon" })),
    /environment variable DETECTOR_STALL_TIMEOUT expects a duration like 500ms, 10s, 2m/,
  );
});

Deno.test("a prefixed flag is named as the subcommand spells it", () => {
  const serve = commandSettings(["prusaTimeout"], { prefix: { prusaTimeout: "prusa-" } });
  assert.throws(
    () => resolveSettings(serve, { prusaTimeout: "later" }, noEnv),
    /--prusa-timeout expects a duration/,
  );
});

Deno.test("a subcommand's own default wins over the row's", () => {
  const run = commandSettings(["port"], { defaults: { port: 8000 } });
  assert.equal(resolveSettings(run, {}, noEnv).values.port, 8000);
  assert.match(describeSetting("port", run), /default 8000\)/);
});

Deno.test("config-file keys that no row of the subcommand reads are reported", () => {
  const r = resolveSettings(spec, {}, noEnv, {
    name: "config.json",
    values: { port: 1, max_streams: 3, colour: "red" },
  });
  assert.deepEqual(r.unknownFileKeys, ["max_streams", "colour"]);
});

Deno.test("two rows with one flag in one subcommand are refused", () => {
  assert.throws(() => commandSettings(["sourceTimeout", "probeTimeout"]), /--timeout/);
});

Deno.test("durations: units, and plain numbers keep their unit", () => {
  const seconds = duration("s");
  assert.equal(seconds.parse("10s"), 10_000);
  assert.equal(seconds.parse("500ms"), 500);
  assert.equal(seconds.parse("2m"), 120_000);
  assert.equal(seconds.parse("1h"), 3_600_000);
  assert.equal(seconds.parse("1.5"), 1500, "a plain number is seconds");
  assert.equal(seconds.parse(7), 7000, "a JSON number is seconds");
  const millis = duration("ms");
  assert.equal(millis.parse("250"), 250, "a plain number is milliseconds");
  assert.equal(millis.parse("2s"), 2000);
  for (const bad of ["", "10 s", "-1s", "ten", "1d", null]) {
    assert.throws(() => seconds.parse(bad), /a duration like/, String(bad));
  }
  assert.throws(() => duration("s", 100, 1000).parse("2s"), /between 100ms and 1s/);
});

Deno.test("sizes: binary units, plain numbers keep their unit", () => {
  const b = bytes(1024, 1024 ** 3);
  assert.equal(b.parse("16MiB"), 16 * 1024 * 1024);
  assert.equal(b.parse("512k"), 512 * 1024);
  assert.equal(b.parse("4096"), 4096);
  assert.throws(() => b.parse("12parsecs"), /a size like/);
  assert.throws(() => b.parse("100"), /between 1KiB and 1GiB/);
  assert.equal(bytes(1, 1024 ** 4, "MiB").parse("256"), 256 * 1024 * 1024);
});

Deno.test("--help shows defaults as users type them", () => {
  assert.equal(formatDuration(10_000), "10s");
  assert.equal(formatDuration(600_000), "10m");
  assert.equal(formatDuration(250), "250ms");
  assert.equal(formatDuration(1500), "1500ms");
  assert.equal(formatBytes(16 * 1024 * 1024), "16MiB");
  assert.equal(formatBytes(1000), "1000");
  const s = commandSettings(["stallTimeout", "maxFrameBytes", "threads"]);
  assert.match(describeSetting("stallTimeout", s), /\(env DETECTOR_STALL_TIMEOUT, default 10s\)$/);
  assert.match(describeSetting("maxFrameBytes", s), /default 16MiB\)$/);
  assert.match(
    describeSetting("threads", s),
    /default the budget; branches that run at once share it\)$/,
  );
});

Deno.test("every row parses its own default and shows it", () => {
  for (const [key, row] of Object.entries(settings)) {
    if (!("default" in row)) continue;
    // deno-lint-ignore no-explicit-any
    const type = row.type as any;
    const shown = type.format(row.default);
    if (type.repeatable) continue;
    assert.deepEqual(type.parse(shown), row.default, `${key}: ${shown}`);
  }
});

Deno.test("ONNX Runtime spinning: off, runs or on, the old switch words too; unset by default", () => {
  const spin = commandSettings(["ortSpinning"]);
  const of = (value: string) =>
    resolveSettings(spin, {}, envOf({ DETECTOR_ORT_SPINNING: value })).values.ortSpinning;
  assert.equal(
    resolveSettings(spin, {}, noEnv).values.ortSpinning,
    undefined,
    "each command decides",
  );
  assert.equal(of("runs"), "runs");
  assert.equal(of("RUNS"), "runs");
  assert.equal(of("off"), "off");
  assert.equal(of("on"), "on");
  assert.equal(of("1"), "on");
  assert.equal(of("false"), "off");
  assert.throws(
    () => of("sometimes"),
    /environment variable DETECTOR_ORT_SPINNING expects one of off, runs, on .*got "sometimes"/,
  );
});
