import assert from "node:assert/strict";
import type { SubscriptionSpec } from "../../src/worker/subscription_spec.ts";
import { Metrics } from "../../src/core/metrics.ts";
import {
  planReconcile,
  type RunningSubscription,
  SubscriptionSet,
} from "../../src/worker/subscriptions.ts";

function spec(id: string, over: Partial<SubscriptionSpec> = {}): SubscriptionSpec {
  const [displayId, cameraId] = id.split(";");
  return {
    subscriptionIdentifier: id,
    displayId,
    cameraId,
    rtspUrl: `rtsp://cams/${cameraId}`,
    modelUrl: "http://models/m.mpta",
    modelId: 1,
    modelName: "Vehicle",
    ...over,
  };
}

class FakeSub implements RunningSubscription {
  static started: FakeSub[] = [];
  stopped = false;
  constructor(readonly spec: SubscriptionSpec) {
    FakeSub.started.push(this);
  }
  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
}

function fresh(max = 10) {
  FakeSub.started = [];
  return new SubscriptionSet((s) => new FakeSub(s), max, new Metrics());
}

Deno.test("planReconcile: add, remove, restart on any parameter change, keep the rest", () => {
  const current = new Map([
    ["d1;a", spec("d1;a")],
    ["d1;b", spec("d1;b")],
    ["d1;c", spec("d1;c", { crop: { x1: 0, y1: 0, x2: 10, y2: 10 } })],
    ["d1;gone", spec("d1;gone")],
  ]);
  const plan = planReconcile(current, [
    spec("d1;a"),
    spec("d1;b", { modelId: 2 }),
    spec("d1;c", { crop: { x1: 0, y1: 0, x2: 10, y2: 11 } }),
    spec("d2;new"),
  ]);
  assert.deepEqual(plan.keep, ["d1;a"]);
  assert.deepEqual(plan.restart.map((s) => s.subscriptionIdentifier), ["d1;b", "d1;c"]);
  assert.deepEqual(plan.add.map((s) => s.subscriptionIdentifier), ["d2;new"]);
  assert.deepEqual(plan.remove, ["d1;gone"]);
  for (
    const change of [
      { rtspUrl: "rtsp://other" },
      { snapshotUrl: "http://s", snapshotInterval: 500 },
      { modelUrl: "http://models/n.mpta" },
      { modelName: "Other" },
      { crop: { x1: 1, y1: 0, x2: 10, y2: 10 } },
    ]
  ) {
    const p = planReconcile(new Map([["d;a", spec("d;a")]]), [spec("d;a", change)]);
    assert.equal(p.restart.length, 1, `change ${JSON.stringify(change)} restarts`);
  }
});

Deno.test("reconcile leaves unchanged subscriptions running (same object, not stopped)", async () => {
  const set = fresh();
  await set.reconcile([spec("d;a"), spec("d;b")]);
  const a = set.get("d;a")!;
  const out = await set.reconcile([spec("d;a"), spec("d;b", { modelId: 7 })]);
  assert.deepEqual(out.kept, ["d;a"]);
  assert.deepEqual(out.restarted, ["d;b"]);
  assert.equal(set.get("d;a"), a);
  assert.equal(a.stopped, false);
  assert.equal(FakeSub.started.length, 3);
  assert.equal(FakeSub.started[1].stopped, true, "the old d;b was stopped");
  assert.equal(set.get("d;b")!.spec.modelId, 7);
});

Deno.test("an empty list stops everything", async () => {
  const set = fresh();
  await set.reconcile([spec("d;a"), spec("d;b")]);
  const out = await set.reconcile([]);
  assert.deepEqual(out.removed.sort(), ["d;a", "d;b"]);
  assert.equal(set.size, 0);
  assert.ok(FakeSub.started.every((s) => s.stopped));
});

Deno.test("max_streams: the excess is refused with a message naming it, the rest start", async () => {
  const set = fresh(2);
  const out = await set.reconcile([spec("d;a"), spec("d;b"), spec("d;c")]);
  assert.deepEqual(out.added, ["d;a", "d;b"]);
  assert.equal(out.refused.length, 1);
  assert.match(out.refused[0], /max_streams \(2\) reached: subscription "d;c" was not started/);
  // removing one frees a slot in the same reconcile
  const out2 = await set.reconcile([spec("d;b"), spec("d;c")]);
  assert.deepEqual(out2.removed, ["d;a"]);
  assert.deepEqual(out2.added, ["d;c"]);
  assert.equal(out2.refused.length, 0);
});

Deno.test("legacy subscribe upserts one and leaves the others; unsubscribe removes one", async () => {
  const set = fresh();
  await set.upsert(spec("d;a"));
  await set.upsert(spec("d;b"));
  const a = set.get("d;a");
  await set.upsert(spec("d;b", { modelName: "New" }));
  assert.equal(set.get("d;a"), a);
  assert.equal(set.get("d;b")!.spec.modelName, "New");
  assert.equal(await set.remove("d;a"), true);
  assert.equal(await set.remove("d;a"), false);
  assert.deepEqual(set.list().map((s) => s.spec.subscriptionIdentifier), ["d;b"]);
});

Deno.test("a subscription whose source cannot be built is refused with the reason; the rest go on", async () => {
  FakeSub.started = [];
  const set = new SubscriptionSet(
    (s) => {
      if (s.rtspUrl?.includes("#")) throw new Error(`unknown source option "bogus"`);
      return new FakeSub(s);
    },
    10,
    new Metrics(),
  );
  const out = await set.reconcile([
    spec("d1;a"),
    spec("d1;bad", { rtspUrl: "rtsp://cams/x#bogus=1" }),
    spec("d1;c"),
  ]);
  assert.deepEqual(out.added, ["d1;a", "d1;c"]);
  assert.equal(out.refused.length, 1);
  assert.match(out.refused[0], /"d1;bad" was not started: unknown source option "bogus"/);
  assert.equal(set.get("d1;bad"), undefined);
  // a changed spec that cannot start: refused, the running one stays
  const again = await set.reconcile([
    spec("d1;a", { rtspUrl: "rtsp://cams/a#bogus=2" }),
    spec("d1;c"),
  ]);
  assert.deepEqual(again.restarted, []);
  assert.match(again.refused[0], /"d1;a" was not started/);
  assert.equal(set.get("d1;a")?.spec.rtspUrl, "rtsp://cams/a");
  assert.equal((set.get("d1;a") as FakeSub).stopped, false);
});
