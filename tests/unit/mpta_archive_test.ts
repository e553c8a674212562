import assert from "node:assert/strict";
import { zipSync } from "fflate";
import { Metrics } from "../../src/core/metrics.ts";
import { ARCHIVE_PATH, openArchive, validateArchive } from "../../src/mpta/archive.ts";
import { MptaError } from "../../src/mpta/errors.ts";
import { zipDeterministic } from "../../src/mpta/pack.ts";
import type { ValidationError } from "../../src/mpta/types.ts";
import { buildColourDetector } from "../../src/testmodels/colour_detector.ts";
import { EXAMPLE_ARCHIVES, fullExampleModels } from "../../src/testmodels/example_archives.ts";
import { craftZip, zeroDeflate } from "../../src/testmodels/zip_craft.ts";
import { archiveOf, branch, fullPipeline, type Json, root } from "./mpta_fixtures.ts";

const pipelinesDir = new URL("../../pipelines/", import.meta.url).pathname;

async function errorsOf(bytes: Uint8Array, checkModels = true): Promise<ValidationError[]> {
  const r = await validateArchive(bytes, { checkModels });
  assert.equal(r.archive, undefined, "archive must be refused");
  assert.ok(r.errors.length > 0);
  return r.errors;
}

function hasError(errors: ValidationError[], path: string, pattern: RegExp): void {
  const hit = errors.find((e) => e.path === path && pattern.test(e.message));
  assert.ok(
    hit,
    `expected error at ${path} matching ${pattern}; got:\n${JSON.stringify(errors, null, 1)}`,
  );
}

Deno.test("committed example archives are byte-identical to what `deno task pipelines` builds", async () => {
  for (const ex of EXAMPLE_ARCHIVES) {
    const committed = await Deno.readFile(`${pipelinesDir}${ex.file}`);
    const built = ex.build();
    assert.deepEqual(committed, built, `${ex.file} differs: run deno task pipelines and commit`);
    assert.deepEqual(ex.build(), built, "the build must be deterministic");
  }
});

Deno.test("example archives validate; defaults applied; models summarised", async () => {
  const full = await openArchive(`${pipelinesDir}car_frontal_full.mpta`);
  const p = full.spec.pipeline;
  assert.equal(p.modelId, "car_frontal_detection_v1");
  assert.deepEqual(p.expectedClasses, ["Car", "Frontal"]);
  assert.equal(p.iou, 0.45);
  assert.equal(p.branches.length, 2);
  assert.equal(p.branches[0].cropClass, "Frontal");
  assert.deepEqual(p.branches[1].resizeTarget, [224, 224]);
  assert.equal(p.parallelActions[0].type, "postgresql_update_combined");
  assert.deepEqual(full.spec.redis, { host: "127.0.0.1", port: 6379, db: 0 });
  assert.equal(full.spec.postgresql?.database, "inference");
  assert.match(full.hash, /^[0-9a-f]{64}$/);
  assert.ok(full.file("car_brand_cls_v1.onnx")!.length > 100);
  assert.ok(full.file("./car_brand_cls_v1.onnx"), "./ prefix is normalised");
  assert.equal(full.file("missing.onnx"), undefined);
  assert.deepEqual(full.models!.car_frontal_detection_v1.classNames, ["Car", "Frontal"]);
  assert.equal(full.models!.car_frontal_detection_v1.layout, "yolov8");
  assert.equal(full.models!.car_brand_cls_v1.task, "classify");
  assert.deepEqual(full.models!.car_brand_cls_v1.inputShape, [1, 3, 224, 224]);
  const only = await openArchive(`${pipelinesDir}car_detection_only.mpta`);
  assert.equal(only.spec.redis, undefined);
  assert.equal(only.spec.postgresql, undefined);
  assert.equal(only.spec.pipeline.branches.length, 0);
});

Deno.test("pipeline.json in one top-level folder is found; in two folders or deeper it is refused", async () => {
  const ok = await validateArchive(archiveOf(fullPipeline(), { folder: "mine/" }));
  assert.deepEqual(ok.errors, []);
  assert.ok(ok.archive?.file("car_brand_cls_v1.onnx"));
  const two = zipDeterministic({
    "a/pipeline.json": new TextEncoder().encode("{}"),
    "b/pipeline.json": new TextEncoder().encode("{}"),
  });
  hasError(await errorsOf(two), ARCHIVE_PATH, /several folders/);
  const deep = zipDeterministic({ "a/b/pipeline.json": new TextEncoder().encode("{}") });
  hasError(await errorsOf(deep), ARCHIVE_PATH, /too deep.*a\/b\/pipeline\.json/);
});

Deno.test("bad input: not a zip", async () => {
  hasError(
    await errorsOf(new TextEncoder().encode("this is plainly not a zip file at all")),
    ARCHIVE_PATH,
    /not a ZIP/,
  );
  hasError(await errorsOf(new Uint8Array(0)), ARCHIVE_PATH, /not a ZIP/);
  const jpegish = new Uint8Array(4096).fill(0xff);
  hasError(await errorsOf(jpegish), ARCHIVE_PATH, /not a ZIP/);
});

Deno.test("bad input: unsafe entry names (../evil, absolute, backslash, drive letter) are refused", async () => {
  const cases: [string, RegExp][] = [
    ["../evil", /\.\./],
    ["models/../../evil.onnx", /\.\./],
    ["/etc/evil", /absolute/],
    ["evil\\..\\x", /backslash/],
    ["C:/evil", /drive letter/],
  ];
  for (const [name, why] of cases) {
    const zip = craftZip([
      { name: "pipeline.json", data: new TextEncoder().encode("{}") },
      { name, data: new TextEncoder().encode("owned") },
    ]);
    const errors = await errorsOf(zip);
    hasError(errors, ARCHIVE_PATH, /unsafe entry name/);
    assert.match(errors[0].message, why, name);
    assert.ok(errors[0].message.includes(JSON.stringify(name)), "the error names the entry");
  }
  // fflate writes ../ names too: same refusal
  const viaFflate = zipSync({ "pipeline.json": new Uint8Array(2), "../evil": new Uint8Array(1) });
  hasError(await errorsOf(viaFflate), ARCHIVE_PATH, /unsafe entry name "\.\.\/evil"/);
});

Deno.test("bad input: 10 000 entries are refused from the central directory, naming the limit", async () => {
  const files: Record<string, Uint8Array> = { "pipeline.json": new TextEncoder().encode("{}") };
  for (let i = 0; i < 10_000; i++) files[`f${i}.txt`] = new Uint8Array([i & 255]);
  const errors = await errorsOf(zipSync(files, { level: 0 }));
  hasError(errors, ARCHIVE_PATH, /10001 entries, more than the limit of 1000/);
  // a raised limit lets it through to the next check
  const r = await validateArchive(zipSync(files, { level: 0 }), { limits: { maxEntries: 20_000 } });
  assert.ok(!r.errors.some((e) => /entries/.test(e.message)));
});

Deno.test("bad input: a 1 GB zip bomb is refused before inflating it", async () => {
  const bomb = zeroDeflate(1_000_000_000);
  assert.ok(bomb.length < 8_000_000, "the bomb itself is small");
  // honest headers: refused from the central directory alone
  const honest = craftZip([
    { name: "pipeline.json", data: new TextEncoder().encode("{}") },
    { name: "model.onnx", compressed: bomb, declaredSize: 1_000_000_000, crc: 0 },
  ]);
  hasError(
    await errorsOf(honest),
    ARCHIVE_PATH,
    /model\.onnx.*uncompressed, more than the limit of 512 MiB/,
  );
  // lying headers (declares 1000 bytes): inflating stops at the first chunk past 1000 bytes.
  // Only entries pipeline.json names are inflated, so it names this one.
  const naming = fullPipeline();
  root(naming).modelFile = "model.onnx";
  const lying = craftZip([
    { name: "pipeline.json", data: new TextEncoder().encode(JSON.stringify(naming)) },
    { name: "model.onnx", compressed: bomb, declaredSize: 1000, crc: 0 },
  ]);
  hasError(
    await errorsOf(lying),
    `${ARCHIVE_PATH}/model.onnx`,
    /inflates beyond its declared 1000 bytes/,
  );
  // several entries summing above the total limit
  const many = craftZip([
    { name: "pipeline.json", data: new TextEncoder().encode("{}") },
    { name: "a.onnx", compressed: bomb, declaredSize: 400 * 1024 ** 2, crc: 0 },
    { name: "b.onnx", compressed: bomb, declaredSize: 400 * 1024 ** 2, crc: 0 },
  ]);
  hasError(
    await errorsOf(many),
    ARCHIVE_PATH,
    /more than 768 MiB uncompressed \(limit\), reached at "b\.onnx"/,
  );
});

Deno.test("an entry pipeline.json does not name is never inflated", async () => {
  const models = fullExampleModels();
  const zip = craftZip([
    { name: "pipeline.json", data: new TextEncoder().encode(JSON.stringify(fullPipeline())) },
    ...Object.entries(models).map(([name, data]) => ({ name, data })),
    // 512 MiB of zeros whose header lies: inflating it would fail, so it must not happen.
    { name: "junk.bin", compressed: zeroDeflate(512 * 1024 ** 2), declaredSize: 1000, crc: 0 },
  ]);
  const report = await validateArchive(zip);
  assert.deepEqual(report.errors, []);
  assert.ok(report.archive!.paths!.includes("junk.bin"));
  assert.equal(report.archive!.file("junk.bin"), undefined);
});

Deno.test("bad input: corrupt entry data fails its CRC check", async () => {
  const zip = craftZip([
    { name: "pipeline.json", data: new TextEncoder().encode("{}"), crc: 12345 },
  ]);
  hasError(await errorsOf(zip), `${ARCHIVE_PATH}/pipeline.json`, /CRC/);
});

Deno.test("bad input: no pipeline.json", async () => {
  const zip = zipDeterministic({ "model.onnx": buildColourDetector() });
  hasError(await errorsOf(zip), ARCHIVE_PATH, /no pipeline\.json/);
});

Deno.test("bad input: invalid JSON is reported with line and column", async () => {
  const text = '{\n  "pipeline": {\n    "modelId": "x",\n    "modelFile" "x.onnx"\n  }\n}\n';
  const errors = await errorsOf(archiveOf(text));
  hasError(errors, "pipeline.json", /invalid JSON at line 4, column 17/);
  hasError(await errorsOf(archiveOf('{"pipeline": ')), "pipeline.json", /line 1, column 14.*end/);
});

Deno.test("bad input: missing required fields are all reported, each with its path", async () => {
  const p = fullPipeline();
  delete root(p).modelId;
  delete root(p).minConfidence;
  delete branch(p, 1).triggerClasses;
  delete (p.redis as Json).host;
  delete (root(p).parallelActions as Json[])[0].fields;
  delete p.pipeline;
  const noPipeline = await errorsOf(archiveOf(p));
  hasError(noPipeline, "pipeline", /required/);
  const q = fullPipeline();
  delete root(q).modelId;
  delete root(q).minConfidence;
  delete branch(q, 1).triggerClasses;
  delete (q.redis as Json).host;
  delete (root(q).parallelActions as Json[])[0].fields;
  delete (root(q).actions as Json[])[1].channel;
  const errors = await errorsOf(archiveOf(q));
  hasError(errors, "pipeline.modelId", /required/);
  hasError(errors, "pipeline.minConfidence", /required/);
  hasError(errors, "pipeline.branches[1].triggerClasses", /required/);
  hasError(errors, "redis.host", /required/);
  hasError(errors, "pipeline.parallelActions[0].fields", /required/);
  hasError(errors, "pipeline.actions[1].channel", /required/);
});

Deno.test("bad input: wrong types name the path and what was expected", async () => {
  const p = fullPipeline();
  root(p).minConfidence = "0.8";
  root(p).multiClass = "yes";
  branch(p, 0).crop = 1;
  branch(p, 1).resizeTarget = [224];
  branch(p, 1).triggerClasses = "Car";
  (p.redis as Json).port = 70000;
  (root(p).actions as Json[])[0].quality = 101;
  (root(p).actions as Json[])[0].format = "gif";
  root(p).branches = [...(root(p).branches as Json[]), 42];
  const errors = await errorsOf(archiveOf(p));
  hasError(errors, "pipeline.minConfidence", /must be a number, got a string/);
  hasError(errors, "pipeline.multiClass", /true or false/);
  hasError(errors, "pipeline.branches[0].crop", /true or false/);
  hasError(errors, "pipeline.branches[1].resizeTarget", /\[width, height\]/);
  hasError(errors, "pipeline.branches[1].triggerClasses", /array of strings/);
  hasError(errors, "redis.port", /between 1 and 65535/);
  hasError(errors, "pipeline.actions[0].quality", /between 1 and 100/);
  hasError(errors, "pipeline.actions[0].format", /"jpeg" or "png"/);
  hasError(errors, "pipeline.branches[2]", /must be an object/);
});

Deno.test("bad input: duplicate modelId", async () => {
  const p = fullPipeline();
  branch(p, 1).modelId = "car_brand_cls_v1";
  const errors = await errorsOf(archiveOf(p));
  hasError(
    errors,
    "pipeline.branches[1].modelId",
    /duplicate modelId "car_brand_cls_v1" \(also at pipeline.branches\[0\]\)/,
  );
});

Deno.test("bad input: modelFile missing from the archive", async () => {
  const errors = await errorsOf(archiveOf(fullPipeline(), { omit: ["car_brand_cls_v1.onnx"] }));
  hasError(
    errors,
    "pipeline.branches[0].modelFile",
    /"car_brand_cls_v1\.onnx" is not in the archive/,
  );
});

Deno.test("bad input: a .pt model gets the export command", async () => {
  const p = fullPipeline();
  branch(p, 0).modelFile = "car_brand_cls_v1.pt";
  const errors = await errorsOf(
    archiveOf(p, { models: { "car_brand_cls_v1.pt": new Uint8Array(10) } }),
  );
  hasError(
    errors,
    "pipeline.branches[0].modelFile",
    /yolo export model=car_brand_cls_v1\.pt format=onnx/,
  );
  const stray = await errorsOf(
    archiveOf(fullPipeline(), { models: { "old.pt": new Uint8Array(10) } }),
  );
  hasError(stray, `${ARCHIVE_PATH}/old.pt`, /yolo export model=old\.pt format=onnx/);
});

Deno.test("bad input: a corrupt .onnx", async () => {
  const garbage = new TextEncoder().encode("definitely not protobuf \u0000\u0001\u0002 at all");
  const errors = await errorsOf(
    archiveOf(fullPipeline(), { models: { "car_brand_cls_v1.onnx": garbage } }),
  );
  hasError(errors, "pipeline.branches[0].modelFile", /not an ONNX model/);
  const truncated = buildColourDetector().subarray(0, 500);
  const e2 = await errorsOf(
    archiveOf(fullPipeline(), { models: { "car_frontal_detection_v1.onnx": truncated } }),
  );
  hasError(e2, "pipeline.modelFile", /car_frontal_detection_v1\.onnx: not an ONNX model/);
});

Deno.test("bad input: a model whose output shape fits no layout for its classes", async () => {
  // output [1, 6, 4] is YOLOv8 for 2 classes; the node says 3
  const p = fullPipeline();
  const models = { "car_frontal_detection_v1.onnx": buildColourDetector({ omitNames: true }) };
  root(p).classes = ["Car", "Frontal", "Truck"];
  const errors = await errorsOf(archiveOf(p, { models }));
  hasError(
    errors,
    "pipeline.modelFile",
    /output shape \[1, 6, 4\] fits no known detection layout for 3 classes.*YOLOv8 with 2 classes/,
  );
  // same model, the right class list from the node: accepted
  root(p).classes = ["Car", "Frontal"];
  const ok = await validateArchive(archiveOf(p, { models }));
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.archive?.models?.car_frontal_detection_v1.classNamesFrom, "node");
  // no names anywhere: refused with the reason
  delete root(p).classes;
  hasError(await errorsOf(archiveOf(p, { models })), "pipeline.modelFile", /no class names/);
});

Deno.test("bad input: class names the models do not have", async () => {
  const p = fullPipeline();
  root(p).triggerClasses = ["Car", "Truck"];
  root(p).expectedClasses = ["Car", "Bus"];
  branch(p, 0).triggerClasses = ["Frontal", "Rear"];
  branch(p, 0).cropClass = "Plate";
  (root(p).actions as Json[])[0].region = "Windscreen";
  const errors = await errorsOf(archiveOf(p));
  hasError(
    errors,
    "pipeline.triggerClasses[1]",
    /class "Truck" is not a class of model "car_frontal_detection_v1" \(Car, Frontal\)/,
  );
  hasError(errors, "pipeline.expectedClasses[1]", /"Bus"/);
  hasError(
    errors,
    "pipeline.branches[0].triggerClasses[1]",
    /"Rear" is not a class of the parent model/,
  );
  hasError(errors, "pipeline.branches[0].cropClass", /"Plate"/);
  hasError(errors, "pipeline.actions[0].region", /"Windscreen"/);
  assert.equal(errors.length, 5, JSON.stringify(errors));
});

Deno.test("bad input: waitForBranches naming no branch", async () => {
  const p = fullPipeline();
  const action = (root(p).parallelActions as Json[])[0];
  action.waitForBranches = ["car_brand_cls_v1", "car_colour_cls_v1"];
  const errors = await errorsOf(archiveOf(p));
  hasError(
    errors,
    "pipeline.parallelActions[0].waitForBranches[1]",
    /"car_colour_cls_v1" is not a branch of this node \(branches: car_brand_cls_v1, car_bodytype_cls_v1\)/,
  );
});

Deno.test("bad input: unknown placeholders in templates", async () => {
  const p = fullPipeline();
  const actions = root(p).actions as Json[];
  actions[0].key = "inference:{display_id}:{camera}:{filename}";
  actions[1].message = '{"event":"frontal","img":"{image_key}","who":"{car_brand_cls_v1.brand}"}';
  const fields = (root(p).parallelActions as Json[])[0].fields as Json;
  fields.car_brand = "{car_brand_cls_v1.colour}";
  fields.car_model = "{car_model_cls_v1.model}";
  const errors = await errorsOf(archiveOf(p));
  hasError(errors, "pipeline.actions[0].key", /unknown placeholder \{camera\}/);
  hasError(
    errors,
    "pipeline.actions[1].message",
    /branch results are only available in parallelActions/,
  );
  hasError(
    errors,
    "pipeline.parallelActions[0].fields.car_brand",
    /\{car_brand_cls_v1\.colour\}.*yields class, classId, confidence, brand/,
  );
  hasError(
    errors,
    "pipeline.parallelActions[0].fields.car_model",
    /"car_model_cls_v1" is not a branch/,
  );
  // {image_key} before any redis_save_image
  const q = fullPipeline();
  const qa = root(q).actions as Json[];
  root(q).actions = [{ type: "redis_publish", channel: "c", message: "{image_key}" }, ...qa];
  hasError(
    await errorsOf(archiveOf(q)),
    "pipeline.actions[0].message",
    /none runs before this one/,
  );
  // literal JSON braces are not placeholders
  const r = fullPipeline();
  (root(r).actions as Json[])[1].message = '{"event":"x","conf":{confidence},"key":"{image_key}"}';
  assert.deepEqual((await validateArchive(archiveOf(r))).errors, []);
});

Deno.test("every problem of a broken archive is reported at once", async () => {
  const p = fullPipeline();
  root(p).minConfidence = 2;
  branch(p, 1).modelId = "car_brand_cls_v1";
  (root(p).actions as Json[])[0].key = "{nope}";
  (root(p).parallelActions as Json[])[0].waitForBranches = ["ghost"];
  const errors = await errorsOf(archiveOf(p, { omit: ["car_bodytype_cls_v1.onnx"] }));
  const paths = errors.map((e) => e.path).sort();
  assert.deepEqual(paths, [
    "pipeline.actions[0].key",
    "pipeline.branches[1].modelFile",
    "pipeline.branches[1].modelId",
    "pipeline.minConfidence",
    // the renamed branch no longer provides {car_bodytype_cls_v1.body_type}
    "pipeline.parallelActions[0].fields.car_body_type",
    "pipeline.parallelActions[0].waitForBranches[0]",
  ]);
});

Deno.test("openArchive throws an MptaError with all problems, logs and counts it", async () => {
  const metrics = new Metrics();
  const before = metrics.get("detector_mpta_rejected_total") ?? 0;
  const p = fullPipeline();
  delete root(p).modelFile;
  root(p).triggerClasses = [];
  await assert.rejects(
    () => openArchive(archiveOf(p), { name: "broken.mpta", metrics }),
    (err: unknown) => {
      assert.ok(err instanceof MptaError);
      assert.match(err.message, /^broken\.mpta: 2 problems/);
      assert.deepEqual(err.errors.map((e) => e.path).sort(), [
        "pipeline.modelFile",
        "pipeline.triggerClasses",
      ]);
      return true;
    },
  );
  assert.equal(metrics.get("detector_mpta_rejected_total"), before + 1);
  await assert.rejects(() => openArchive("/nonexistent/x.mpta"), /cannot read/);
});

Deno.test("warnings do not refuse an archive: unknown keys, cropClass without crop", async () => {
  const p = fullPipeline();
  root(p).colour = "red";
  root(p).cropClass = "Car";
  const r = await validateArchive(archiveOf(p));
  assert.deepEqual(r.errors, []);
  assert.ok(r.archive);
  assert.ok(r.warnings.some((w) => w.path === "pipeline.colour" && /unknown key/.test(w.message)));
  assert.ok(r.warnings.some((w) => w.path === "pipeline.cropClass"));
});

Deno.test("loadModels creates real sessions: a graph that parses but cannot run is refused", async () => {
  // valid protobuf and metadata, but an operator that does not exist
  const bytes = buildColourDetector();
  const text = new TextDecoder("latin1").decode(bytes);
  const broken = bytes.slice();
  let hits = 0;
  for (let i = text.indexOf("ReduceMax"); i >= 0; i = text.indexOf("ReduceMax", i + 1)) {
    broken.set(new TextEncoder().encode("ReduceMaz"), i);
    hits++;
  }
  assert.ok(hits > 0);
  const p = fullPipeline();
  const archive = archiveOf(p, { models: { "car_frontal_detection_v1.onnx": broken } });
  const light = await validateArchive(archive);
  assert.deepEqual(light.errors, [], "metadata alone looks fine");
  const deep = await validateArchive(archive, { loadModels: true });
  hasError(deep.errors, "pipeline.modelFile", /ReduceMaz/);
});

Deno.test("bad input: a model input over 4096² pixels is refused at validation", async () => {
  const p = fullPipeline();
  const file = root(p).modelFile as string;
  const zip = archiveOf(p, { models: { [file]: buildColourDetector({ size: 16384 }) } });
  hasError(await errorsOf(zip), "pipeline.modelFile", /16384x16384 pixels is more than the limit/);
});

Deno.test("bad input: a huge value is echoed cut to ~200 characters", async () => {
  const p = fullPipeline();
  root(p).resizeTarget = "NESTED";
  const text = JSON.stringify(p).replace('"NESTED"', "[".repeat(200_000) + "]".repeat(200_000));
  const errors = await errorsOf(archiveOf(text));
  const hit = errors.find((e) => e.path.endsWith("resizeTarget"));
  assert.ok(hit, JSON.stringify(errors).slice(0, 2000));
  assert.ok(hit.message.length < 400, `${hit.message.length} characters`);
  for (const e of errors) assert.ok(e.message.length < 1000, e.message.slice(0, 300));
});
