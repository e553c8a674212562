import assert from "node:assert/strict";
import { loadModel } from "../../src/inference/load_model.ts";
import { readOnnxInfo } from "../../src/inference/onnx_info.ts";
import {
  buildYoloV8nClassifier,
  buildYoloV8nDetector,
  COCO_NAMES,
} from "../../src/testmodels/yolo_models.ts";
import { colourFrameRgb } from "../../src/testmodels/frames.ts";

// Small input sizes keep the calibration pass quick; the layer graph is the same as at 640/224.
Deno.test("YOLOv8n-shaped detector: the export's layout, metadata and parameter count; it runs", async () => {
  const m = buildYoloV8nDetector({ size: 96 });
  // YOLOv8n after BatchNorm folding: 3,151,904 parameters; the DFL conv's 16 are a constant here
  assert.equal(m.params, 3_151_904 - 16);
  // every MAC is in a conv, so the compute scales with the input area: 8.74 GFLOPs at 640
  assert.equal((m.gflops * (640 / 96) ** 2).toFixed(2), "8.74");
  const info = readOnnxInfo(m.bytes);
  assert.deepEqual(info.inputs[0].shape, [1, 3, 96, 96]);
  const anchors = 12 * 12 + 6 * 6 + 3 * 3;
  assert.deepEqual(info.outputs[0].shape, [1, 84, anchors]);
  assert.equal(info.metadata.task, "detect");
  assert.equal(info.metadata.imgsz, "[96, 96]");
  assert.ok(info.metadata.names.startsWith("{0: 'person', 1: 'bicycle'"));
  const model = await loadModel(m.bytes, { backend: "native", threads: 1 });
  try {
    assert.equal(model.task, "detect");
    assert.deepEqual(model.classNames, COCO_NAMES);
    if (model.task !== "detect") return;
    assert.equal(model.layout, "yolov8");
    const frame = colourFrameRgb({
      width: 160,
      height: 90,
      background: [90, 120, 150],
      rects: [{ box: [20, 20, 80, 70], rgb: [200, 40, 40] }],
    });
    const dets = await model.detect(frame, { minConfidence: 0 });
    assert.ok(dets.length > 0);
    for (const d of dets) {
      assert.ok(d.box.every(Number.isFinite) && d.confidence >= 0 && d.confidence <= 1);
    }
  } finally {
    await model.dispose();
  }
});

Deno.test("YOLOv8n-cls-shaped classifier: parameter count, metadata, probabilities", async () => {
  const m = buildYoloV8nClassifier({ size: 64 });
  assert.equal(m.params, 1_447_690);
  const info = readOnnxInfo(m.bytes);
  assert.deepEqual(info.outputs[0].shape, [1, 10]);
  assert.equal(info.metadata.task, "classify");
  const model = await loadModel(m.bytes, { backend: "native", threads: 1 });
  try {
    if (model.task !== "classify") throw new Error("not a classifier");
    const c = await model.classify(colourFrameRgb({ width: 64, height: 64, rects: [] }));
    assert.ok(model.classNames.includes(c.class));
    assert.ok(c.confidence > 0 && c.confidence <= 1);
  } finally {
    await model.dispose();
  }
});

Deno.test("generated weights are deterministic: same options, same bytes", () => {
  const a = buildYoloV8nClassifier({ size: 64 });
  const b = buildYoloV8nClassifier({ size: 64 });
  assert.deepEqual(a.bytes, b.bytes);
});
