import assert from "node:assert/strict";
import { nodeThreads } from "../../src/pipeline/models.ts";
import { ThreadBudget } from "../../src/inference/thread_budget.ts";
import type { PipelineNode } from "../../src/mpta/types.ts";

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

Deno.test("thread budget: urgent runs go ahead of waiting runs that are not, in order", async () => {
  const budget = new ThreadBudget(2);
  const order: string[] = [];
  const took = (name: string) => (release: () => void) => {
    order.push(name);
    return release;
  };
  const a = await budget.acquire(1);
  const b = await budget.acquire(1);
  const ahead1 = budget.acquire(1).then(took("detection ahead 1"));
  const ahead2 = budget.acquire(1).then(took("detection ahead 2"));
  const branch1 = budget.acquire(1, true).then(took("branch 1"));
  const branch2 = budget.acquire(1, true).then(took("branch 2"));
  a();
  (await branch1)();
  b();
  (await branch2)();
  (await ahead1)();
  (await ahead2)();
  assert.deepEqual(order, ["branch 1", "branch 2", "detection ahead 1", "detection ahead 2"]);
  assert.equal(budget.free, 2);
  // with threads free and only non-urgent runs waiting for more, an urgent run takes them at once
  const one = await budget.acquire(1);
  const big = budget.acquire(2).then(took("big"));
  const urgent = await budget.acquire(1, true);
  assert.equal(budget.free, 0);
  one();
  urgent();
  (await big)();
  assert.equal(budget.free, 2);
});

Deno.test("thread budget: a request above the budget takes the whole budget", async () => {
  const budget = new ThreadBudget(2);
  const release = await budget.acquire(8);
  assert.equal(budget.free, 0);
  release();
  assert.equal(budget.free, 2);
});

Deno.test("threads per node: the root gets the budget, concurrent branches share it", () => {
  const node = (modelId: string, parallel: boolean, branches: PipelineNode[] = []) =>
    ({ modelId, parallel, branches }) as unknown as PipelineNode;
  const brand = node("brand", true);
  const body = node("body", true);
  const plate = node("plate", false, [node("ocr", false)]);
  const root = node("root", false, [brand, body, plate]);
  const t = nodeThreads(root, 4);
  assert.equal(t.get(root), 4);
  // two parallel branches + the sequential one alongside them: 3 at once
  assert.equal(t.get(brand), 1);
  assert.equal(t.get(plate), 1);
  assert.equal(t.get(plate.branches[0]), 4, "alone under its parent");
  const two = nodeThreads(node("r", false, [node("a", true), node("b", true)]), 2);
  assert.deepEqual([...two.values()], [2, 1, 1]);
});
