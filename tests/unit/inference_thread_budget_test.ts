import assert from "node:assert/strict";
import { ThreadBudget } from "../../src/inference/thread_budget.ts";

Deno.test("thread budget: runs never hold more threads than the budget; waiters go in order", async () => {
  const budget = new ThreadBudget(2);
  const order: string[] = [];
  const a = await budget.acquire(1);
  const b = await budget.acquire(1);
  assert.equal(budget.free, 0);
  // a 2-thread run waits; a later 1-thread run must not overtake it
  const big = budget.acquire(2).then((release) => {
    order.push("big");
    return release;
  });
  const small = budget.acquire(1).then((release) => {
    order.push("small");
    return release;
  });
  a();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(order, [], "one free thread is not enough for the 2-thread run");
  b();
  const releaseBig = await big;
  assert.deepEqual(order, ["big"]);
  assert.equal(budget.free, 0);
  releaseBig();
  releaseBig(); // twice is harmless
  (await small)();
  assert.deepEqual(order, ["big", "small"]);
  assert.equal(budget.free, 2);
});

Deno.test("thread budget: a request above the budget takes the whole budget", async () => {
  const budget = new ThreadBudget(2);
  const release = await budget.acquire(8);
  assert.equal(budget.free, 0);
  release();
  assert.equal(budget.free, 2);
});
