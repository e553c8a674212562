import assert from "node:assert/strict";
import { LogThrottle } from "../../src/core/log_throttle.ts";
import type { Logger } from "../../src/core/log.ts";

Deno.test("one line per key and window; the next one after it says how many were left out", () => {
  const t = new LogThrottle({ windowMs: 5000 });
  assert.equal(t.pass("a", 0), 0);
  assert.equal(t.pass("a", 100), undefined);
  assert.equal(t.pass("a", 4999), undefined);
  assert.equal(t.pass("b", 4999), 0, "keys are independent");
  assert.equal(t.pass("a", 5000), 2);
  assert.equal(t.pass("a", 5001), undefined);
  assert.equal(t.pass("a", 20_000), 1);
  assert.equal(t.pass("a", 40_000), 0);
});

Deno.test("a burst lets the first lines of each window through", () => {
  const t = new LogThrottle({ burst: 3, windowMs: 1000 });
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => t.pass("k", i)), [
    0,
    0,
    0,
    undefined,
    undefined,
    undefined,
  ]);
  assert.equal(t.pass("k", 1000), 3);
  assert.equal(t.pass("k", 1001), 0);
  assert.equal(t.pass("k", 1002), 0);
  assert.equal(t.pass("k", 1003), undefined);
});

Deno.test("memory stays bounded by maxKeys", () => {
  const t = new LogThrottle({ maxKeys: 2 });
  t.pass("a", 0);
  assert.equal(t.pass("a", 1), undefined);
  t.pass("b", 2);
  t.pass("c", 3);
  assert.equal(t.pass("a", 4), 0, "a new key beyond maxKeys forgot the others");
});

Deno.test("warn logs the passing lines with the suppressed count", () => {
  const lines: [string, Record<string, unknown> | undefined][] = [];
  const log = {
    warn: (msg: string, fields?: Record<string, unknown>) => lines.push([msg, fields]),
  };
  const t = new LogThrottle({ windowMs: 60_000 });
  for (let i = 0; i < 5; i++) t.warn(log as unknown as Logger, "k", "bad input", { i }, i);
  t.warn(log as unknown as Logger, "k", "bad input", { i: 5 }, 60_000);
  assert.deepEqual(lines, [["bad input", { i: 0 }], ["bad input", { i: 5, suppressed: 4 }]]);
});
