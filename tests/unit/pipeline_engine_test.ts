import assert from "node:assert/strict";
import sharp from "sharp";
import type { Model } from "../../src/inference/types.ts";
import type { PipelineSpec } from "../../src/mpta/types.ts";
import { FrameImage, pixelRect } from "../../src/pipeline/crop.ts";
import { createPipelineRunner, type RunnerOptions } from "../../src/pipeline/runner.ts";
import type { PlannedWrite } from "../../src/pipeline/types.ts";
import { Metrics } from "../../src/core/metrics.ts";
import {
  archiveOf,
  exampleModels,
  exampleSpec,
  fakeClassifier,
  fakeDetector,
  node,
  type Rect,
  rgbFrame,
} from "../harness/pipeline_fakes.ts";

const W = 640, H = 360;
const CAR: Rect = { box: [100, 80, 400, 300], rgb: [230, 0, 0] };
const FRONTAL: Rect = { box: [180, 200, 320, 280], rgb: [0, 230, 0] };
const ctx = { cameraId: "display-001;cam-001", displayId: "display-001" };

function scene(rects: Rect[], at = Date.now()) {
  return { ...rgbFrame(W, H, rects), at };
}

async function runnerFor(
  spec: PipelineSpec,
  models: Record<string, Model>,
  opts: Partial<RunnerOptions> = {},
) {
  const writes: PlannedWrite[] = [];
  const runner = await createPipelineRunner(archiveOf(spec), {
    spoolDir: "/nonexistent-dry-run",
    tracking: "per-frame",
    sessionCooldownMs: 0,
    dryRun: true,
    onPlannedWrite: (w) => writes.push(w),
    loadModels: () => Promise.resolve(new Map(Object.entries(models))),
    metrics: new Metrics(),
    ...opts,
  });
  return { runner, writes };
}

function exampleRunner(opts: Partial<RunnerOptions> = {}, delayMs = 0) {
  const m = exampleModels(delayMs);
  return runnerFor(exampleSpec(), {
    car_frontal_detection_v1: m.detector,
    car_brand_cls_v1: m.brand,
    car_bodytype_cls_v1: m.body,
  }, opts).then((r) => ({ ...r, models: m }));
}

Deno.test("full event: regions, crops, parallel branches, named fields, writes in order", async () => {
  const { runner, writes, models } = await exampleRunner({}, 30);
  try {
    const r = await runner.run(scene([CAR, FRONTAL]), ctx);
    assert.equal(r.skipped, undefined);
    assert.deepEqual(Object.keys(r.regions).sort(), ["Car", "Frontal"]);
    assert.deepEqual(r.regions.Car.box, CAR.box);
    assert.equal(r.branchResults.car_brand_cls_v1.fields.brand, "Honda");
    assert.equal(r.branchResults.car_bodytype_cls_v1.fields.body_type, "Sedan");
    assert.ok(r.sessionId && /^[0-9a-f-]{36}$/.test(r.sessionId));
    assert.equal(r.eventFired, true);
    // crops: cropClass box resized to resizeTarget
    assert.deepEqual([models.brand.calls[0].width, models.brand.calls[0].height], [224, 224]);
    assert.deepEqual(models.brand.calls[0].mean, [0, 230, 0], "brand sees only the Frontal crop");
    assert.ok(models.body.calls[0].mean[0] > 150, "body type sees the Car crop");
    // the two parallel branches overlapped
    assert.equal(models.brand.maxConcurrent + models.body.maxConcurrent, 2);
    assert.deepEqual(writes.map((w) => `${w.sink}/${w.op}`), [
      "postgres/initial_session",
      "redis/set",
      "redis/publish",
      "postgres/upsert",
    ]);
    const [initial, set, publish, upsert] = writes;
    assert.ok(initial.op === "initial_session" && initial.sessionId === r.sessionId);
    assert.equal(initial.displayId, "display-001");
    assert.ok(set.op === "set");
    assert.match(
      set.key,
      new RegExp(
        `^inference:display-001:\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d:${r.sessionId}:[0-9a-f-]{36}\\.jpg$`,
      ),
    );
    assert.equal(set.ttl, 600);
    assert.equal(set.format, "jpeg");
    assert.ok(publish.op === "publish");
    assert.equal(publish.channel, "car_detections");
    const msg = JSON.parse(publish.message);
    assert.equal(msg.session_id, r.sessionId);
    assert.equal(msg.image_key, set.key);
    assert.equal(typeof msg.confidence, "number");
    assert.ok(upsert.op === "upsert");
    assert.equal(upsert.table, "car_frontal_info");
    assert.equal(upsert.keyValue, r.sessionId);
    assert.deepEqual(upsert.fields, { car_brand: "Honda", car_body_type: "Sedan" });
  } finally {
    await runner.close();
  }
});

Deno.test("frame crops: region boxes encoded as JPEG/PNG, resized crops for branches", async () => {
  const img = new FrameImage(scene([CAR, FRONTAL]));
  const png = await img.encode(FRONTAL.box, "png", 90);
  const meta = await sharp(png.bytes).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ["png", 140, 80]);
  const jpeg = await img.encode(CAR.box, "jpeg", 50);
  const jm = await sharp(jpeg.bytes).metadata();
  assert.deepEqual([jm.format, jm.width, jm.height], ["jpeg", 300, 220]);
  const whole = await sharp((await img.encode(null, "jpeg", 90)).bytes).metadata();
  assert.deepEqual([whole.width, whole.height], [W, H]);
  const crop = await img.crop([180.4, 200.6, 319.2, 279.9], [224, 224]);
  assert.deepEqual([crop?.width, crop?.height], [224, 224]);
  assert.deepEqual([...crop!.rgb.subarray(0, 3)], [0, 230, 0]);
  assert.equal(await img.crop([700, 10, 800, 20]), null, "a box outside the frame is empty");
  assert.deepEqual(pixelRect([-5, -5, 10.2, 10.7], W, H), {
    left: 0,
    top: 0,
    width: 11,
    height: 11,
  });
  // a JPEG frame is decoded once, on demand
  const jpegFrame = new FrameImage({ jpeg: jpeg.bytes, width: 300, height: 220, at: 0 });
  assert.equal((await jpegFrame.pixels()).rgb.byteLength, 300 * 220 * 3);
  assert.throws(
    () => new FrameImage({ rgb: new Uint8Array(10), width: 4, height: 4, at: 0 }),
    /expected 48/,
  );
});

Deno.test("multiClass keeps the best detection of each class", async () => {
  const m = exampleModels();
  const spec = exampleSpec();
  const { runner } = await runnerFor(spec, {
    car_frontal_detection_v1: {
      ...m.detector,
      detect: () =>
        Promise.resolve([
          { class: "Car", classId: 0, confidence: 0.85, box: [0, 0, 100, 100] },
          { class: "Car", classId: 0, confidence: 0.95, box: [200, 50, 500, 300] },
          { class: "Frontal", classId: 1, confidence: 0.9, box: [250, 200, 400, 280] },
        ]),
    } as Model,
    car_brand_cls_v1: m.brand,
    car_bodytype_cls_v1: m.body,
  });
  try {
    const r = await runner.run(scene([]), ctx);
    assert.deepEqual(r.regions.Car.box, [200, 50, 500, 300]);
    assert.equal(r.regions.Car.confidence, 0.95);
    assert.equal(r.detection?.confidence, 0.95);
    assert.equal(r.detections?.length, 3);
  } finally {
    await runner.close();
  }
});

Deno.test("no expected class detected: nothing, no writes", async () => {
  const { runner, writes } = await exampleRunner();
  try {
    const blue: Rect = { box: [10, 10, 50, 50], rgb: [0, 0, 230] };
    const r = await runner.run(scene([blue]), ctx);
    assert.equal(r.skipped, "no_detection");
    assert.equal(r.detection, null);
    assert.deepEqual(writes, []);
  } finally {
    await runner.close();
  }
});

Deno.test("a required branch that cannot trigger: pre-validation stops before any write", async () => {
  const { runner, writes, models } = await exampleRunner();
  try {
    // Frontal at 0.82: passes the root (0.8) but not the brand branch (0.85)
    const dim: Rect = { ...FRONTAL, rgb: [0, 210, 0] };
    const r = await runner.run(scene([CAR, dim]), ctx);
    assert.equal(r.skipped, "prevalidation");
    assert.equal(r.sessionId, null);
    assert.deepEqual(writes, [], "no Redis key, no row");
    assert.equal(models.brand.calls.length + models.body.calls.length, 0);
    // only the car: the Frontal-cropping branch cannot run either
    const r2 = await runner.run(scene([CAR]), ctx);
    assert.equal(r2.skipped, "prevalidation");
    assert.deepEqual(writes, []);
  } finally {
    await runner.close();
  }
});

Deno.test("expectedClasses: one expected class is enough to go on (flexible rule)", async () => {
  const m = exampleModels();
  const spec = exampleSpec({ parallelActions: [] });
  spec.pipeline.branches = [];
  spec.postgresql = undefined;
  const { runner, writes } = await runnerFor(spec, { car_frontal_detection_v1: m.detector });
  try {
    const r = await runner.run(scene([CAR]), ctx);
    assert.equal(r.skipped, undefined);
    assert.equal(r.eventFired, true);
    assert.equal(r.sessionId, null, "no postgresql: no sessions");
    assert.deepEqual(writes.map((w) => w.op), ["set", "publish"]);
    const set = writes[0];
    assert.ok(set.op === "set");
    assert.match(set.key, /^inference:display-001:[^:]+::/, "{session_id} is empty without one");
  } finally {
    await runner.close();
  }
});

Deno.test("detection branches recurse, with their own crops and branches", async () => {
  const plateDetector = fakeDetector([{ name: "Plate", family: "blue" }]);
  const plateReader = fakeClassifier([{ name: "AB123", rgb: [0, 0, 230] }]);
  const spec: PipelineSpec = {
    pipeline: node({
      modelId: "vehicle",
      triggerClasses: ["Car"],
      minConfidence: 0.5,
      branches: [node({
        modelId: "plate_detector",
        triggerClasses: ["Car"],
        crop: true,
        cropClass: "Car",
        resizeTarget: [300, 220],
        branches: [node({
          modelId: "plate_reader",
          resultField: "license_plate",
          triggerClasses: ["Plate"],
          crop: true,
          resizeTarget: [64, 32],
        })],
      })],
    }),
  };
  const { runner } = await runnerFor(spec, {
    vehicle: fakeDetector([{ name: "Car", family: "red" }]),
    plate_detector: plateDetector,
    plate_reader: plateReader,
  });
  try {
    const plate: Rect = { box: [200, 260, 260, 290], rgb: [0, 0, 230] };
    const r = await runner.run(scene([CAR, plate]), ctx);
    const det = r.branchResults.plate_detector;
    assert.equal(det.class, "Plate");
    // the plate box is in the coordinates of the car crop (same size here): 100 px left, 180 up
    assert.deepEqual(det.detection?.box, [100, 180, 160, 210]);
    assert.equal(det.branchResults?.plate_reader.fields.license_plate, "AB123");
    assert.deepEqual([plateReader.calls[0].width, plateReader.calls[0].height], [64, 32]);
    assert.deepEqual(plateDetector.calls[0].opts.classes, undefined, "branches keep all classes");
  } finally {
    await runner.close();
  }
});

Deno.test("root detection asks only for the trigger classes", async () => {
  const { runner, models } = await exampleRunner();
  try {
    await runner.run(scene([CAR, FRONTAL]), ctx);
    assert.deepEqual(models.detector.calls[0].opts.classes, ["Car", "Frontal"]);
    assert.equal(models.detector.calls[0].opts.iou, 0.45);
  } finally {
    await runner.close();
  }
});

Deno.test("per-frame tracking: every complete frame is a new session; cooldown limits them", async () => {
  const { runner, writes } = await exampleRunner({ tracking: "per-frame", sessionCooldownMs: 0 });
  const ids = new Set<string>();
  try {
    for (let i = 0; i < 3; i++) {
      const r = await runner.run(scene([CAR, FRONTAL], 1000 + i * 40), ctx);
      ids.add(r.sessionId!);
    }
    assert.equal(ids.size, 3);
    assert.equal(writes.filter((w) => w.op === "initial_session").length, 3);
  } finally {
    await runner.close();
  }
  const cool = await exampleRunner({ tracking: "per-frame", sessionCooldownMs: 100 });
  try {
    let fired = 0;
    for (let i = 0; i < 6; i++) {
      if ((await cool.runner.run(scene([CAR, FRONTAL], 1000 + i * 40), ctx)).eventFired) fired++;
    }
    assert.equal(
      fired,
      2,
      "frames at 1000..1200 ms with a 100 ms cooldown: events at 1000 and 1120",
    );
  } finally {
    await cool.runner.close();
  }
});

function moving(x: number, at: number) {
  const dx = x - 100;
  return scene([
    { ...CAR, box: [CAR.box[0] + dx, CAR.box[1], CAR.box[2] + dx, CAR.box[3]] },
    { ...FRONTAL, box: [FRONTAL.box[0] + dx, FRONTAL.box[1], FRONTAL.box[2] + dx, FRONTAL.box[3]] },
  ], at);
}

Deno.test("bytetrack: one session per vehicle pass, kept on every frame of the pass", async () => {
  const { runner, writes } = await exampleRunner({ tracking: "bytetrack", sessionCooldownMs: 500 });
  try {
    const sessions: (string | null)[] = [];
    let at = 0;
    for (let pass = 0; pass < 2; pass++) {
      for (let x = 0; x <= 200; x += 20) {
        sessions.push((await runner.run(moving(x, at += 40), ctx)).sessionId);
      }
      for (let i = 0; i < 40; i++) await runner.run(scene([], at += 40), ctx); // gap > buffer
    }
    const distinct = new Set(sessions.filter(Boolean));
    assert.equal(distinct.size, 2);
    assert.equal(writes.filter((w) => w.op === "initial_session").length, 2);
    assert.equal(writes.filter((w) => w.op === "set").length, 2);
    assert.equal(writes.filter((w) => w.op === "upsert").length, 2);
    // all frames of the first pass after the event carry the same session
    const first = sessions.slice(0, 11).filter(Boolean);
    assert.ok(first.length >= 10 && new Set(first).size === 1);
  } finally {
    await runner.close();
  }
});

Deno.test("bytetrack: a vehicle waits for a complete event (all expected classes)", async () => {
  const { runner, writes } = await exampleRunner({ tracking: "bytetrack", sessionCooldownMs: 0 });
  try {
    // car alone: pre-validation stops (brand needs the Frontal)
    assert.equal((await runner.run(scene([CAR], 0), ctx)).skipped, "prevalidation");
    const r = await runner.run(scene([CAR, FRONTAL], 40), ctx);
    assert.equal(r.eventFired, true);
    assert.ok(r.trackId !== undefined);
    assert.equal(writes.filter((w) => w.op === "initial_session").length, 1);
  } finally {
    await runner.close();
  }
});

Deno.test("unknown placeholders and bad SQL names are refused when the runner is created", async () => {
  const m = exampleModels();
  const models = {
    car_frontal_detection_v1: m.detector,
    car_brand_cls_v1: m.brand,
    car_bodytype_cls_v1: m.body,
  };
  const bad = [
    [
      exampleSpec({ actions: [{ type: "redis_publish", channel: "c", message: "{nope}" }] }),
      /pipeline\.actions\[0\]: message: unknown placeholder \{nope\}/,
    ],
    [
      exampleSpec({
        parallelActions: [{
          type: "postgresql_update_combined",
          table: "x; DROP TABLE y",
          key_field: "session_id",
          key_value: "{session_id}",
          waitForBranches: [],
          fields: { a: "{class}" },
        }],
      }),
      /table "x; DROP TABLE y" is not a plain identifier/,
    ],
    [
      exampleSpec({
        parallelActions: [{
          type: "postgresql_update_combined",
          table: "car_frontal_info",
          key_field: "session_id",
          key_value: "{session_id}",
          waitForBranches: [],
          fields: { "car_brand = 'x' --": "{class}" },
        }],
      }),
      /fields column .* is not a plain identifier/,
    ],
    [
      exampleSpec({
        parallelActions: [{
          type: "postgresql_update_combined",
          table: "a.b.c",
          key_field: "session_id",
          key_value: "{session_id}",
          waitForBranches: [],
          fields: { a: "{class}" },
        }],
      }),
      /more than one/,
    ],
    [
      exampleSpec({
        parallelActions: [{
          type: "postgresql_update_combined",
          table: "t",
          key_field: 'id"',
          key_value: "{session_id}",
          waitForBranches: [],
          fields: { a: "{class}" },
        }],
      }),
      /key_field/,
    ],
    [
      exampleSpec({
        parallelActions: [{
          type: "postgresql_update_combined",
          table: "t",
          key_field: "id",
          key_value: "{session_id}",
          waitForBranches: ["ghost"],
          fields: { a: "{class}" },
        }],
      }),
      /waitForBranches names "ghost"/,
    ],
    [
      exampleSpec({
        actions: [{ type: "redis_publish", channel: "c", message: "{car_brand_cls_v1.brand}" }],
      }),
      /unknown placeholder \{car_brand_cls_v1\.brand\}/,
    ],
  ] as const;
  for (const [spec, re] of bad) {
    await assert.rejects(() => runnerFor(spec, models), re);
  }
});

Deno.test("a frame scaled for analysis: boxes in the camera's pixels, crops from the pixels held", async () => {
  const full = scene([CAR, FRONTAL]);
  const half = await sharp(full.rgb!, { raw: { width: W, height: H, channels: 3 } })
    .resize(W / 2, H / 2, { kernel: "nearest" }).raw().toBuffer();
  const img = new FrameImage({
    rgb: new Uint8Array(half.buffer, half.byteOffset, half.byteLength),
    width: W / 2,
    height: H / 2,
    native: { width: W, height: H },
    at: 0,
  });
  assert.deepEqual([img.width, img.height], [W, H], "positions are the camera's");
  const found = img.toPicture([{ box: [10, 20, 30, 40] as [number, number, number, number] }]);
  assert.deepEqual(found[0].box, [20, 40, 60, 80]);
  const jpeg = await img.encode(CAR.box, "jpeg", 90);
  assert.deepEqual([jpeg.width, jpeg.height], [150, 110], "the car box, in half-size pixels");
  const crop = await img.crop(FRONTAL.box);
  assert.deepEqual([crop?.width, crop?.height], [70, 40]);
  assert.deepEqual([...crop!.rgb.subarray(0, 3)], [0, 230, 0], "the frontal pixels");
});
