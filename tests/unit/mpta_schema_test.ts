import assert from "node:assert/strict";
import { parseJsonText } from "../../src/mpta/json_text.ts";
import { resultFieldFor, templatePlaceholders } from "../../src/mpta/placeholders.ts";
import { parsePipelineSpec } from "../../src/mpta/schema.ts";
import { fullPipeline, type Json, root } from "./mpta_fixtures.ts";

Deno.test("schema: minimal node gets every default", () => {
  const r = parsePipelineSpec({
    pipeline: { modelId: "m", modelFile: "m.onnx", minConfidence: 0.5, triggerClasses: ["a"] },
  });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.spec!.pipeline, {
    modelId: "m",
    modelFile: "m.onnx",
    minConfidence: 0.5,
    triggerClasses: ["a"],
    crop: false,
    resizeTarget: [224, 224],
    multiClass: false,
    expectedClasses: [],
    parallel: false,
    branches: [],
    actions: [],
    parallelActions: [],
    iou: 0.45,
  });
});

Deno.test("schema: crop without cropClass crops the first trigger class; action defaults", () => {
  const p = fullPipeline();
  const b = (root(p).branches as Json[])[0];
  delete b.cropClass;
  b.triggerClasses = ["Frontal", "Car"];
  const a = (root(p).actions as Json[])[0];
  delete a.format;
  delete a.quality;
  delete a.expire_seconds;
  const r = parsePipelineSpec(p);
  assert.deepEqual(r.errors, []);
  assert.equal(r.spec!.pipeline.branches[0].cropClass, "Frontal");
  assert.deepEqual(r.spec!.pipeline.actions[0], {
    type: "redis_save_image",
    key: "inference:{display_id}:{timestamp}:{session_id}:{filename}",
    region: "Frontal",
    format: "jpeg",
    quality: 90,
  });
});

Deno.test("schema: top level must be an object; redis/postgresql fields checked", () => {
  for (const v of [null, [], "x", 3]) {
    const r = parsePipelineSpec(v);
    assert.equal(r.spec, undefined);
    assert.equal(r.errors[0].path, "(top level)");
  }
  const r = parsePipelineSpec({
    pipeline: { modelId: "m", modelFile: "m.onnx", minConfidence: 0.5, triggerClasses: ["a"] },
    redis: { host: "h", port: "6379", db: -1 },
    postgresql: { host: "h", port: 5432, database: "d", username: "u" },
  });
  const paths = r.errors.map((e) => `${e.path}: ${e.message}`);
  assert.ok(paths.some((p) => /^redis\.port: must be an integer/.test(p)), paths.join("\n"));
  assert.ok(paths.some((p) => /^redis\.db: must be ≥ 0/.test(p)), paths.join("\n"));
  assert.ok(paths.some((p) => /^postgresql\.password: is required/.test(p)), paths.join("\n"));
  assert.equal(r.spec, undefined);
  assert.ok(r.partial, "the partial tree is still there for cross-checks");
});

Deno.test("schema: actions: unknown type, identifiers for table and columns", () => {
  const p = fullPipeline();
  (root(p).actions as Json[]).push({ type: "http_post", url: "x" });
  const pa = (root(p).parallelActions as Json[])[0];
  pa.table = "car_info; DROP TABLE x";
  pa.key_field = "session id";
  (pa.fields as Json)["bad-col"] = "{class}";
  const r = parsePipelineSpec(p);
  const by = new Map(r.errors.map((e) => [e.path, e.message]));
  assert.match(by.get("pipeline.actions[2].type")!, /unknown action type "http_post"/);
  assert.match(by.get("pipeline.parallelActions[0].table")!, /plain identifier/);
  assert.match(by.get("pipeline.parallelActions[0].key_field")!, /plain column name/);
  assert.match(by.get("pipeline.parallelActions[0].fields.bad-col")!, /plain identifier/);
  const ok = parsePipelineSpec({
    ...fullPipeline(),
  });
  assert.deepEqual(ok.errors, []);
  const schemaTable = fullPipeline();
  (root(schemaTable).parallelActions as Json[])[0].table = "gas_station_1.car_frontal_info";
  assert.deepEqual(parsePipelineSpec(schemaTable).errors, []);
});

Deno.test("schema: minConfidence and iou ranges, empty triggerClasses, nesting depth", () => {
  const node = (extra: Json) => ({
    pipeline: {
      modelId: "m",
      modelFile: "m.onnx",
      minConfidence: 0.5,
      triggerClasses: ["a"],
      ...extra,
    },
  });
  assert.match(
    parsePipelineSpec(node({ minConfidence: 1.5 })).errors[0].message,
    /between 0 and 1/,
  );
  assert.match(parsePipelineSpec(node({ iou: -0.1 })).errors[0].message, /between 0 and 1/);
  assert.match(parsePipelineSpec(node({ triggerClasses: [] })).errors[0].message, /at least one/);
  assert.equal(
    parsePipelineSpec(node({ triggerClasses: ["a", 3] })).errors[0].path,
    "pipeline.triggerClasses[1]",
  );
  let deep: Json = {
    modelId: "leaf",
    modelFile: "m.onnx",
    minConfidence: 0.5,
    triggerClasses: ["a"],
  };
  for (let i = 0; i < 20; i++) {
    deep = {
      modelId: `n${i}`,
      modelFile: "m.onnx",
      minConfidence: 0.5,
      triggerClasses: ["a"],
      branches: [deep],
    };
  }
  const r = parsePipelineSpec({ pipeline: deep });
  assert.ok(r.errors.some((e) => /deeper than 16/.test(e.message)));
});

Deno.test("placeholders: simple and branch references; JSON braces are literal", () => {
  const refs = templatePlaceholders(
    '{"a":"{class}","b":{confidence},"c":"{car_brand_cls_v1.brand}"}',
  );
  assert.deepEqual(refs.map((r) => r.name), ["class", "confidence", "car_brand_cls_v1.brand"]);
  assert.equal(refs[2].branch, "car_brand_cls_v1");
  assert.equal(refs[2].field, "brand");
  assert.deepEqual(templatePlaceholders("{ spaced } {1abc} {}"), []);
});

Deno.test("placeholders: result field from the model id (the original's rule) or resultField", () => {
  assert.equal(resultFieldFor({ modelId: "car_brand_cls_v1" }), "brand");
  assert.equal(resultFieldFor({ modelId: "car_bodytype_cls_v1" }), "body_type");
  assert.equal(resultFieldFor({ modelId: "Body_Shape" }), "body_type");
  assert.equal(resultFieldFor({ modelId: "car_color_v2" }), "color");
  assert.equal(resultFieldFor({ modelId: "plate_ocr" }), "plate_ocr");
  assert.equal(resultFieldFor({ modelId: "car_brand_cls_v1", resultField: "make" }), "make");
});

Deno.test("json: errors carry line and column; BOM accepted", () => {
  assert.deepEqual(parseJsonText('\ufeff{"a": 1}'), { a: 1 });
  assert.throws(() => parseJsonText('{\n\n   "a": tru\n}'), /line 3, column \d+/);
  try {
    parseJsonText('{"a": 1,\n "b": }');
    assert.fail("must throw");
  } catch (err) {
    assert.equal((err as { line: number }).line, 2);
    assert.equal((err as { column: number }).column, 7);
  }
});
