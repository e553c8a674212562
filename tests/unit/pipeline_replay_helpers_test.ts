import assert from "node:assert/strict";
import { parseListen, parseSize } from "../../src/cli/replay.ts";
import { escapeXml, overlaySvg } from "../../src/replay/annotate.ts";
import { formatDuration, renderProgress } from "../../src/replay/progress.ts";
import { formatSummary, percentile, ReplayStats } from "../../src/replay/stats.ts";
import { fitSize } from "../../src/replay/video_reader.ts";

Deno.test("progress line: bar, percent, frames/s and ETA", () => {
  const line = renderProgress(50, 200, 5);
  assert.equal(line, `[${"#".repeat(8)}${"-".repeat(22)}]  25% 50/200  10.0 frames/s  ETA 15s`);
  assert.equal(renderProgress(10, null, 2), "10 frames  5.0 frames/s");
  assert.match(renderProgress(0, 100, 0), /ETA --/);
  assert.equal(formatDuration(75), "1m15s");
  assert.equal(formatDuration(3700), "1h01m");
});

Deno.test("summary: percentiles per stage, classes, sessions", () => {
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
  assert.equal(percentile([], 50), 0);
  const s = new ReplayStats();
  s.videoFrames = 10;
  for (let i = 0; i < 10; i++) {
    s.processed++;
    s.lastFrameIndex = i;
    s.addTiming("detect", i + 1);
    s.addDetection("Car");
  }
  s.addSession("a");
  s.addSession("a");
  s.addSession("b");
  s.events = 2;
  const sum = s.summary(false);
  assert.equal(sum.sessions, 2);
  assert.deepEqual(sum.stages.detect, { p50: 5, p95: 10 });
  assert.deepEqual(sum.classes, { Car: 10 });
  const text = formatSummary(sum);
  assert.match(text, /frames\s+10 processed of 10/);
  assert.match(text, /detect\s+5\.0\s+10\.0/);
  assert.equal(new ReplayStats().summary(true).sessions, 0);
});

Deno.test("analysis size fits the model input, even, never upscaled", () => {
  assert.deepEqual(fitSize({ width: 1920, height: 1080 }, { width: 640, height: 640 }), {
    width: 640,
    height: 360,
  });
  assert.deepEqual(fitSize({ width: 320, height: 240 }, { width: 640, height: 640 }), {
    width: 320,
    height: 240,
  });
  assert.deepEqual(fitSize({ width: 1000, height: 3001 }, { width: 640, height: 640 }), {
    width: 214,
    height: 640,
  });
});

Deno.test("--serve and --size parsing", () => {
  assert.deepEqual(parseListen(":8080"), { host: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListen("8081"), { host: "127.0.0.1", port: 8081 });
  assert.deepEqual(parseListen("0.0.0.0:80"), { host: "0.0.0.0", port: 80 });
  assert.deepEqual(parseListen("[::1]:9000"), { host: "::1", port: 9000 });
  assert.throws(() => parseListen("host:99999"), /--serve expects/);
  assert.throws(() => parseListen("nope"), /--serve expects/);
  assert.equal(parseSize("full"), "full");
  assert.deepEqual(parseSize("641x361"), { width: 640, height: 360 });
  assert.throws(() => parseSize("0x0"), /--size/);
});

Deno.test("overlay escapes hostile class names", () => {
  assert.equal(escapeXml(`<a b="c">&'`), "&lt;a b=&quot;c&quot;&gt;&amp;&apos;");
  const svg = overlaySvg(
    {
      detection: null,
      regions: {},
      branchResults: { b: { modelId: "b", class: "x", fields: { brand: "</text><script>" } } },
      sessionId: "12345678-aaaa",
      timings: {},
      detections: [{
        class: "<Car>",
        classId: 0,
        confidence: 0.9,
        box: [1, 2, 30, 40],
        trackId: 3,
      }],
    },
    100,
    100,
  );
  assert.ok(!svg.includes("<script>") && !svg.includes("<Car>"));
  assert.match(svg, /&lt;Car&gt; 0\.90 #3/);
  assert.match(svg, /session 12345678/);
});
