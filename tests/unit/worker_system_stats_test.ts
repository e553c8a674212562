import assert from "node:assert/strict";
import { parseNvidiaSmi, readGpuFigures } from "../../src/worker/gpu_stats.ts";
import { cameraConnection, stateReport } from "../../src/worker/state_report.ts";
import {
  cpuPercent,
  parseCpuTimes,
  parseMemoryUsage,
  SystemStats,
} from "../../src/worker/system_stats.ts";

Deno.test("CPU share from two /proc/stat readings", () => {
  const a = parseCpuTimes("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n")!;
  const b = parseCpuTimes("cpu  150 0 150 900 0 0 0 0 0 0\n")!;
  assert.equal(cpuPercent(a, b), 50);
  assert.equal(parseCpuTimes("garbage"), null);
});

Deno.test("memory share from /proc/meminfo", () => {
  assert.equal(
    parseMemoryUsage("MemTotal:       1000 kB\nMemFree:  100 kB\nMemAvailable:   250 kB\n"),
    75,
  );
  assert.equal(parseMemoryUsage("nothing"), null);
});

Deno.test("real figures on this machine are percentages", async () => {
  const stats = new SystemStats(0);
  const first = await stats.read();
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += i; // some CPU between readings
  await new Promise((r) => setTimeout(r, 50));
  const second = await stats.read();
  for (const f of [first, second]) {
    assert.ok(
      typeof f.cpuUsage === "number" && f.cpuUsage >= 0 && f.cpuUsage <= 100,
      `cpu ${f.cpuUsage}`,
    );
    assert.ok(typeof f.memoryUsage === "number" && f.memoryUsage > 0 && f.memoryUsage < 100);
  }
  assert.ok(x > 0);
});

Deno.test("GPU figures are null unless a GPU backend is active", async () => {
  assert.deepEqual(await readGpuFigures(false), { gpuUsage: null, gpuMemoryUsage: null });
  assert.deepEqual(parseNvidiaSmi("37, 2048, 8192\n"), { gpuUsage: 37, gpuMemoryUsage: 25 });
});

Deno.test("stateReport: crop and URLs per subscription, passwords stripped", () => {
  const sub = {
    spec: {
      subscriptionIdentifier: "display-001;cam-001",
      displayId: "display-001",
      cameraId: "cam-001",
      rtspUrl: "rtsp://admin:s3cret@10.0.0.5/stream",
      modelUrl: "http://m/x.mpta",
      modelId: 101,
      modelName: "Vehicle",
      crop: { x1: 100, y1: 200, x2: 300, y2: 400 },
    },
    online: () => true,
  };
  const report = stateReport(
    { cpuUsage: 12.5, memoryUsage: 40.2 },
    { gpuUsage: null, gpuMemoryUsage: null },
    [sub],
  );
  assert.deepEqual(report, {
    type: "stateReport",
    cpuUsage: 12.5,
    memoryUsage: 40.2,
    gpuUsage: null,
    gpuMemoryUsage: null,
    cameraConnections: [{
      subscriptionIdentifier: "display-001;cam-001",
      modelId: 101,
      modelName: "Vehicle",
      online: true,
      rtspUrl: "rtsp://admin:***@10.0.0.5/stream",
      cropX1: 100,
      cropY1: 200,
      cropX2: 300,
      cropY2: 400,
    }],
  });
  assert.ok(!JSON.stringify(cameraConnection(sub)).includes("s3cret"));
});
