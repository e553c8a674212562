import assert from "node:assert/strict";
import { decodeClassification, decodeDetections, DecodeError } from "../../src/inference/decode.ts";
import { chooseLayout, ModelFormatError } from "../../src/inference/model_description.ts";
import { iou, nmsPerClass } from "../../src/inference/nms.ts";
import { type Letterbox, letterboxGeometry, rgbToNchw } from "../../src/inference/preprocess.ts";

const identity = (w = 640, h = 640): Letterbox => ({
  scaleX: 1,
  scaleY: 1,
  padX: 0,
  padY: 0,
  width: w,
  height: h,
});

/** A YOLOv8 output [1, 4+nc, N] from anchors [cx, cy, w, h, ...scores]. */
function v8(anchors: number[][], nc: number) {
  const n = anchors.length;
  const data = new Float32Array((4 + nc) * n);
  anchors.forEach((a, j) => a.forEach((v, r) => (data[r * n + j] = v)));
  return { data, dims: [1, 4 + nc, n] };
}

Deno.test("letterbox geometry matches ultralytics (centre, grey bars)", () => {
  assert.deepEqual(letterboxGeometry(1920, 1080, 640, 640), {
    w: 640,
    h: 360,
    left: 0,
    top: 140,
    right: 0,
    bottom: 140,
  });
  assert.deepEqual(letterboxGeometry(720, 1280, 640, 640), {
    w: 360,
    h: 640,
    left: 140,
    top: 0,
    right: 140,
    bottom: 0,
  });
  const odd = letterboxGeometry(1000, 333, 640, 640);
  assert.equal(odd.w, 640);
  assert.equal(odd.top + odd.h + odd.bottom, 640);
});

Deno.test("rgbToNchw: planar float32 / 255", () => {
  const t = rgbToNchw(new Uint8Array([255, 0, 51, 0, 255, 102]), 2, 1);
  const want = [1, 0, 0, 1, 0.2, 0.4];
  assert.equal(t.length, 6);
  want.forEach((v, i) => assert.ok(Math.abs(t[i] - v) < 1e-6, `${i}: ${t[i]} vs ${v}`));
});

Deno.test("yolov8 decode: best class per anchor, threshold, per-class NMS, boxes mapped and clipped", () => {
  const out = v8([
    [100, 100, 40, 40, 0.9, 0.1], // class 0
    [102, 101, 40, 40, 0.8, 0.0], // overlaps the first, same class: suppressed
    [101, 100, 40, 40, 0.1, 0.7], // overlaps, other class: kept
    [300, 300, 20, 20, 0.2, 0.1], // below threshold
    [630, 10, 40, 40, 0.6, 0.0], // sticks out of the frame: clipped
  ], 2);
  const dets = decodeDetections(out, "yolov8", ["a", "b"], identity(), { minConfidence: 0.5 });
  assert.deepEqual(dets.map((d) => [d.class, Math.round(d.confidence * 10) / 10, d.box]), [
    ["a", 0.9, [80, 80, 120, 120]],
    ["b", 0.7, [81, 80, 121, 120]],
    ["a", 0.6, [610, 0, 640, 30]],
  ]);
  const onlyB = decodeDetections(out, "yolov8", ["a", "b"], identity(), {
    minConfidence: 0.5,
    classes: ["b"],
  });
  assert.deepEqual(onlyB.map((d) => d.class), ["b"]);
  const loose = decodeDetections(out, "yolov8", ["a", "b"], identity(), {
    minConfidence: 0.5,
    iou: 0.99,
  });
  assert.equal(loose.length, 4, "with iou 0.99 the near-duplicate survives");
  // letterbox: 1280x720 frame in 640x640 → scale 0.5, pad 140 on y
  const lb: Letterbox = { scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 140, width: 1280, height: 720 };
  const mapped = decodeDetections(v8([[320, 320, 100, 50, 0.9, 0]], 2), "yolov8", ["a", "b"], lb, {
    minConfidence: 0.5,
  });
  assert.deepEqual(mapped[0].box, [540, 310, 740, 410]);
  // a score equal to the threshold passes; of equal scores the first class wins; all-zero
  // scores give nothing even at threshold 0
  const edges = v8([[100, 100, 40, 40, 0.5, 0.5], [400, 400, 40, 40, 0, 0]], 2);
  assert.deepEqual(
    decodeDetections(edges, "yolov8", ["a", "b"], identity(), { minConfidence: 0.5 }).map((d) =>
      d.class
    ),
    ["a"],
  );
  assert.equal(
    decodeDetections(edges, "yolov8", ["a", "b"], identity(), { minConfidence: 0 }).length,
    1,
  );
  assert.throws(
    () =>
      decodeDetections(v8([[1, 1, 1, 1, 1, 1, 1]], 3), "yolov8", ["a", "b"], identity(), {
        minConfidence: 0,
      }),
    DecodeError,
  );
});

Deno.test("yolov5 decode: confidence = objectness × class probability", () => {
  const rows = [
    [100, 100, 20, 20, 0.5, 0.9, 0.1], // 0.45
    [200, 200, 20, 20, 0.95, 0.2, 0.8], // 0.76 class b
  ];
  const data = Float32Array.from(rows.flat());
  const dets = decodeDetections({ data, dims: [1, 2, 7] }, "yolov5", ["a", "b"], identity(), {
    minConfidence: 0.4,
  });
  assert.deepEqual(dets.map((d) => [d.class, Number(d.confidence.toFixed(3))]), [["b", 0.76], [
    "a",
    0.45,
  ]]);
  const strict = decodeDetections({ data, dims: [1, 2, 7] }, "yolov5", ["a", "b"], identity(), {
    minConfidence: 0.5,
  });
  assert.equal(strict.length, 1);
});

Deno.test("end-to-end decode: rows are final boxes; class ids are checked", () => {
  const data = Float32Array.from([10, 20, 110, 220, 0.9, 1, 0, 0, 0, 0, 0, 0]);
  const dets = decodeDetections({ data, dims: [1, 2, 6] }, "end2end", ["a", "b"], identity(), {
    minConfidence: 0.25,
  });
  assert.deepEqual(dets, [{
    class: "b",
    classId: 1,
    confidence: dets[0].confidence,
    box: [10, 20, 110, 220],
  }]);
  assert.ok(Math.abs(dets[0].confidence - 0.9) < 1e-6);
  const bad = Float32Array.from([10, 20, 110, 220, 0.9, 7]);
  assert.throws(
    () =>
      decodeDetections({ data: bad, dims: [1, 1, 6] }, "end2end", ["a", "b"], identity(), {
        minConfidence: 0.25,
      }),
    /class 7; the model has 2 classes/,
  );
});

Deno.test("classification: probabilities pass through; logits get a softmax", () => {
  const probs = decodeClassification({ data: Float32Array.from([0.1, 0.7, 0.2]), dims: [1, 3] }, [
    "a",
    "b",
    "c",
  ]);
  assert.equal(probs.class, "b");
  assert.ok(Math.abs(probs.confidence - 0.7) < 1e-6);
  const logits = decodeClassification({ data: Float32Array.from([1, 3, 2]), dims: [1, 3] }, [
    "a",
    "b",
    "c",
  ]);
  assert.equal(logits.class, "b");
  const e = [Math.exp(1), Math.exp(3), Math.exp(2)];
  assert.ok(Math.abs(logits.confidence - e[1] / (e[0] + e[1] + e[2])) < 1e-9);
  assert.throws(
    () => decodeClassification({ data: new Float32Array(2), dims: [1, 2] }, ["a"]),
    DecodeError,
  );
});

Deno.test("layout choice from the output shape, checked against the class count", () => {
  assert.deepEqual(chooseLayout([1, 84, 8400], 80), { layout: "yolov8", nc: 80 });
  assert.deepEqual(chooseLayout([1, 25200, 85], 80), { layout: "yolov5", nc: 80 });
  assert.deepEqual(chooseLayout([1, 300, 6], 80), { layout: "end2end", nc: 80 });
  assert.deepEqual(chooseLayout([1, 300, 6], 1), { layout: "end2end", nc: 1 });
  assert.deepEqual(chooseLayout([1, 25200, 6], 1), { layout: "yolov5", nc: 1 });
  assert.deepEqual(chooseLayout(["batch", 84, "anchors"], 80), { layout: "yolov8", nc: 80 });
  assert.deepEqual(chooseLayout([1, 84, 8400], undefined), { layout: "yolov8", nc: 80 });
  assert.throws(
    () => chooseLayout([1, 84, 8400], 3),
    /fits no known detection layout for 3 classes.*YOLOv8 with 80/,
  );
  assert.throws(() => chooseLayout([1, 25200, 85], 3), /YOLOv5 with 80 classes/);
  assert.throws(() => chooseLayout([1, 84], 80), ModelFormatError);
});

Deno.test("nms: iou and greedy suppression per class", () => {
  assert.equal(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  assert.equal(iou([0, 0, 10, 10], [10, 10, 20, 20]), 0);
  assert.ok(Math.abs(iou([0, 0, 10, 10], [5, 0, 15, 10]) - 1 / 3) < 1e-12);
  const kept = nmsPerClass([
    { classId: 0, confidence: 0.5, box: [0, 0, 10, 10] },
    { classId: 0, confidence: 0.9, box: [1, 0, 11, 10] },
    { classId: 1, confidence: 0.8, box: [0, 0, 10, 10] },
    { classId: 0, confidence: 0.7, box: [50, 50, 60, 60] },
  ], 0.45);
  assert.deepEqual(kept.map((k) => k.confidence), [0.9, 0.8, 0.7]);
  const capped = nmsPerClass(
    Array.from(
      { length: 10 },
      (_, i) => ({
        classId: 0,
        confidence: 1 - i / 100,
        box: [i * 20, 0, i * 20 + 10, 10] as [number, number, number, number],
      }),
    ),
    0.45,
    3,
  );
  assert.equal(capped.length, 3);
});
