import assert from "node:assert/strict";
import { RateMeter } from "../../src/core/rate_meter.ts";

Deno.test("rate meter: steady rate, then decays to 0 while no frame arrives", () => {
  const m = new RateMeter(32, 5000);
  for (let t = 0; t <= 2000; t += 40) m.mark(t);
  assert.ok(Math.abs(m.rate(2000) - 25) < 0.01, `steady ${m.rate(2000)}`);
  assert.ok(Math.abs(m.rate(2030) - 25) < 0.01, "within one interval the rate holds");
  const later = [2500, 3500, 4500, 6000].map((t) => m.rate(t));
  for (let i = 1; i < later.length; i++) {
    assert.ok(later[i] < later[i - 1], `decaying: ${later.join(", ")}`);
  }
  assert.ok(later[0] < 25);
  assert.equal(m.rate(7001), 0, "no arrival in the window");
});

Deno.test("rate meter: a slow source keeps its rate between frames", () => {
  const m = new RateMeter(32, 5000);
  for (let t = 0; t <= 4000; t += 2000) m.mark(t);
  assert.equal(m.rate(4000), 0.5);
  assert.equal(m.rate(5900), 0.5);
});
