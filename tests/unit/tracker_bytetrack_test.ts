import assert from "node:assert/strict";
import { ByteTracker, type TrackerDetection } from "../../src/pipeline/tracker/bytetrack.ts";
import { linearAssignment } from "../../src/pipeline/tracker/assignment.ts";
import { iou } from "../../src/pipeline/tracker/iou.ts";
import {
  boxToXyah,
  initiate,
  invert,
  predict,
  update,
  xyahToBox,
} from "../../src/pipeline/tracker/kalman.ts";

const car = (x: number, y = 100, conf = 0.9, w = 120, h = 80): TrackerDetection => ({
  box: [x, y, x + w, y + h],
  confidence: conf,
  class: "Car",
});

Deno.test("iou of identical, disjoint and half-overlapping boxes", () => {
  assert.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  assert.equal(iou([0, 0, 10, 10], [20, 20, 30, 30]), 0);
  assert.ok(Math.abs(iou([0, 0, 10, 10], [5, 0, 15, 10]) - 1 / 3) < 1e-9);
});

Deno.test("linear assignment finds the minimum total cost, respecting maxCost", () => {
  const a = linearAssignment([[0.1, 0.2], [0.15, 0.9]], 0.8);
  assert.deepEqual(a.matches.sort(), [[0, 1], [1, 0]]);
  const b = linearAssignment([[0.1, 0.9, 0.95]], 0.5);
  assert.deepEqual(b.matches, [[0, 0]]);
  assert.deepEqual(b.unmatchedCols, [1, 2]);
  const c = linearAssignment([[0.9], [0.95]], 0.5);
  assert.deepEqual(c.matches, []);
  assert.deepEqual(c.unmatchedRows, [0, 1]);
  assert.deepEqual(linearAssignment([], 0.5).matches, []);
});

Deno.test("kalman: matrix inverse and constant-velocity prediction", () => {
  const m = [[4, 7], [2, 6]];
  const inv = invert(m);
  assert.ok(Math.abs(inv[0][0] - 0.6) < 1e-9 && Math.abs(inv[1][0] + 0.2) < 1e-9);
  let s = initiate(boxToXyah([0, 0, 100, 50]));
  for (let f = 1; f <= 20; f++) {
    s = predict(s);
    s = update(s, boxToXyah([f * 10, 0, f * 10 + 100, 50]));
  }
  const next = xyahToBox(predict(s).mean);
  assert.ok(Math.abs(next[0] - 210) < 3, `predicted x1 ${next[0]} ≈ 210`);
  assert.ok(Math.abs(next[2] - next[0] - 100) < 3);
});

Deno.test("a box moving across the frame keeps one id", () => {
  const t = new ByteTracker({ highThresh: 0.5, lowThresh: 0.1 });
  const ids = new Set<number>();
  for (let f = 0; f < 60; f++) {
    const [id] = t.update([car(f * 25)]);
    if (f > 0) {
      assert.ok(id !== undefined, `frame ${f} tracked`);
      ids.add(id);
    }
  }
  assert.equal(ids.size, 1);
});

Deno.test("a new track is confirmed on its second frame (except on the first frame)", () => {
  const t = new ByteTracker({ highThresh: 0.5, lowThresh: 0.1 });
  assert.deepEqual(t.update([]), []);
  assert.deepEqual(t.update([car(0)]), [undefined]);
  const [id] = t.update([car(10)]);
  assert.equal(typeof id, "number");
});

Deno.test("two vehicles side by side keep distinct, stable ids", () => {
  const t = new ByteTracker({ highThresh: 0.5, lowThresh: 0.1 });
  let first: (number | undefined)[] = [];
  for (let f = 0; f < 30; f++) {
    const out = t.update([car(f * 20, 50), car(1500 - f * 20, 400)]);
    if (f === 1) first = out;
    if (f >= 1) assert.deepEqual(out, first);
  }
  assert.notEqual(first[0], first[1]);
});

Deno.test("short occlusion keeps the id; absence beyond the buffer gives a new id", () => {
  const t = new ByteTracker({ highThresh: 0.5, lowThresh: 0.1, trackBuffer: 15 });
  let x = 0;
  let id0: number | undefined;
  for (let f = 0; f < 10; f++, x += 20) id0 = t.update([car(x)])[0];
  for (let f = 0; f < 8; f++, x += 20) t.update([]);
  const [back] = t.update([car(x)]);
  assert.equal(back, id0, "same vehicle after an 8-frame gap");
  x += 20;
  for (let f = 0; f < 20; f++, x += 20) t.update([]);
  t.update([car(x)]);
  const [later] = t.update([car(x + 20)]);
  assert.ok(later !== undefined && later !== id0, "a new id after the buffer");
});

Deno.test("low-score detections extend a track but never start one", () => {
  const t = new ByteTracker({ highThresh: 0.6, lowThresh: 0.1 });
  t.update([car(0, 100, 0.9)]);
  const [a] = t.update([car(20, 100, 0.9)]);
  const [b] = t.update([car(40, 100, 0.3)]);
  assert.equal(b, a, "the blurred frame keeps the id");
  const fresh = new ByteTracker({ highThresh: 0.6, lowThresh: 0.1 });
  for (let f = 0; f < 5; f++) assert.deepEqual(fresh.update([car(f * 10, 100, 0.3)]), [undefined]);
  assert.equal(fresh.tracks().length, 0);
});

Deno.test("classes are tracked separately", () => {
  const t = new ByteTracker({ highThresh: 0.5, lowThresh: 0.1 });
  t.update([car(0)]);
  const frontal = { ...car(0), class: "Frontal" };
  const [a, b] = t.update([car(5), frontal]);
  assert.equal(typeof a, "number");
  assert.equal(b, undefined, "Frontal starts its own track instead of taking the Car's");
});

Deno.test("low frame rate: a box moving most of its width per frame keeps its id", () => {
  const t = new ByteTracker({ highThresh: 0.5, lowThresh: 0.1 });
  t.update([]);
  const ids = new Set<number | undefined>();
  for (let f = 0; f < 8; f++) {
    const [id] = t.update([car(f * 140, 100, 0.9, 200, 120)]); // IoU 0.18 between frames
    if (f > 0) ids.add(id);
  }
  assert.equal(ids.size, 1);
  assert.ok(!ids.has(undefined));
  // but a box that jumped farther than its size is another object
  const [far] = t.update([car(8 * 140 + 600, 100, 0.9, 200, 120)]);
  assert.equal(far, undefined);
});
