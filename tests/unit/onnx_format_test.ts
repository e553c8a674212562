import assert from "node:assert/strict";
import { parseClassNames, parseImgsz } from "../../src/inference/class_names.ts";
import { OnnxFormatError, readOnnxInfo } from "../../src/inference/onnx_info.ts";
import { BRAND_CLASSES, buildColourClassifier } from "../../src/testmodels/colour_classifier.ts";
import { buildColourDetector } from "../../src/testmodels/colour_detector.ts";
import {
  GraphBuilder,
  pythonNamesLiteral,
  writeOnnxModel,
} from "../../src/testmodels/onnx_writer.ts";

Deno.test("onnx: what the writer writes, the reader reads (shapes, symbolic dims, metadata)", () => {
  const g = new GraphBuilder();
  const x = g.input("images", ["batch", 3, 32, 48]);
  g.op("Identity", [g.op("Relu", [x])], {}, "out");
  g.output("out", ["batch", 3, 32, 48]);
  const bytes = writeOnnxModel({
    graph: g,
    metadata: { task: "detect", names: "{0: 'a'}" },
    opset: 13,
  });
  const info = readOnnxInfo(bytes);
  assert.equal(info.irVersion, 7);
  assert.equal(info.opset, 13);
  assert.deepEqual(info.inputs, [{ name: "images", elemType: 1, shape: ["batch", 3, 32, 48] }]);
  assert.deepEqual(info.outputs[0].shape, ["batch", 3, 32, 48]);
  assert.deepEqual(info.metadata, { task: "detect", names: "{0: 'a'}" });
  assert.equal(info.nodeCount, 2);
});

Deno.test("onnx: generated models carry ultralytics-style metadata and exact shapes", () => {
  const det = readOnnxInfo(buildColourDetector());
  assert.deepEqual(det.inputs[0].shape, [1, 3, 640, 640]);
  assert.deepEqual(det.outputs[0].shape, [1, 6, 4]);
  assert.equal(det.metadata.names, "{0: 'Car', 1: 'Frontal'}");
  assert.equal(det.metadata.task, "detect");
  assert.equal(det.metadata.imgsz, "[640, 640]");
  assert.equal(det.metadata.stride, "32");
  assert.deepEqual(
    readOnnxInfo(buildColourDetector({ layout: "yolov5", size: 320 })).outputs[0].shape,
    [1, 4, 7],
  );
  assert.deepEqual(readOnnxInfo(buildColourDetector({ layout: "end2end" })).outputs[0].shape, [
    1,
    2,
    6,
  ]);
  const cls = readOnnxInfo(buildColourClassifier({ classes: BRAND_CLASSES }));
  assert.deepEqual(cls.outputs[0].shape, [1, 5]);
  assert.equal(cls.metadata.task, "classify");
  assert.deepEqual(parseClassNames(cls.metadata.names), BRAND_CLASSES.map((c) => c.name));
  // deterministic
  assert.deepEqual(buildColourDetector(), buildColourDetector());
});

Deno.test("onnx: garbage and truncated files are refused with OnnxFormatError", () => {
  const bad = [
    new TextEncoder().encode("not a model"),
    new Uint8Array(0),
    buildColourDetector().subarray(0, 300),
    new Uint8Array([0x08, 0x07]), // ir_version only: no graph
  ];
  for (const b of bad) assert.throws(() => readOnnxInfo(b), OnnxFormatError);
});

Deno.test("class names: ultralytics dict literal, escapes, lists, JSON; parsed without eval", () => {
  assert.deepEqual(parseClassNames("{0: 'person', 1: 'bicycle', 2: 'traffic light'}"), [
    "person",
    "bicycle",
    "traffic light",
  ]);
  assert.deepEqual(
    parseClassNames(`{0: 'it\\'s', 1: "say \\"hi\\"", 2: 'caf\\xe9', 3: '\\u00fcber'}`),
    [
      "it's",
      'say "hi"',
      "café",
      "über",
    ],
  );
  assert.deepEqual(parseClassNames("{1: 'b', 0: 'a',}"), ["a", "b"]);
  assert.deepEqual(parseClassNames("['x', \"y\"]"), ["x", "y"]);
  assert.deepEqual(parseClassNames('{"0": "a", "1": "b"}'), ["a", "b"]);
  assert.deepEqual(parseClassNames("{}"), []);
  for (
    const bad of [
      "{0: 'a', 2: 'c'}",
      "{0: 'a', 0: 'b'}",
      "{0: 'a'",
      "{0: 'a'} junk",
      "__import__('os').system('id')",
      "{0: a}",
      "{-1: 'a'}",
    ]
  ) {
    assert.throws(() => parseClassNames(bad), Error, bad);
  }
  assert.equal(pythonNamesLiteral(["it's"]), "{0: 'it\\'s'}");
  assert.deepEqual(parseClassNames(pythonNamesLiteral(["it's", "a\\b"])), ["it's", "a\\b"]);
});

Deno.test("imgsz: [h, w] list or a single number, returned as [w, h]", () => {
  assert.deepEqual(parseImgsz("[640, 640]"), [640, 640]);
  assert.deepEqual(parseImgsz("[384, 640]"), [640, 384]);
  assert.deepEqual(parseImgsz("320"), [320, 320]);
  assert.equal(parseImgsz(undefined), undefined);
  assert.equal(parseImgsz("[]"), undefined);
});
