import assert from "node:assert/strict";
import { PushRateGuard } from "../../src/push/push_rate_guard.ts";

Deno.test("under the cap nobody is refused; over it, only senders above their share", () => {
  const guard = new PushRateGuard(100);
  const flood = guard.open();
  const camera = guard.open();
  for (let i = 0; i < 50; i++) assert.equal(guard.admit(flood, 0), undefined);
  for (let i = 0; i < 5; i++) assert.equal(guard.admit(camera, 0), undefined);
  let refusal: string | undefined;
  for (let i = 0; i < 100 && !refusal; i++) refusal = guard.admit(flood, 10);
  assert.match(refusal!, /over 50 messages per second \(the server takes 100\/s/);
  assert.equal(guard.admit(camera, 20), undefined, "a camera below its share stays");
});

Deno.test("counts start again each second", () => {
  const guard = new PushRateGuard(10);
  const c = guard.open();
  for (let s = 0; s < 5; s++) {
    for (let i = 0; i < 10; i++) assert.equal(guard.admit(c, s * 1000 + i), undefined);
  }
  assert.ok(guard.admit(c, 4500));
});

Deno.test("0 means no cap", () => {
  const guard = new PushRateGuard(0);
  const c = guard.open();
  for (let i = 0; i < 100_000; i++) assert.equal(guard.admit(c, 0), undefined);
});
