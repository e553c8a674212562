import assert from "node:assert/strict";
import { loadModel } from "../../src/inference/load_model.ts";
import { disposeModels, loadPipelineModels } from "../../src/pipeline/models.ts";
import type {
  BackendName,
  ClassificationModel,
  Detection,
  DetectionModel,
  Model,
} from "../../src/inference/types.ts";
import { openArchive } from "../../src/mpta/archive.ts";
import {
  BODY_TYPE_CLASSES,
  BRAND_CLASSES,
  buildColourClassifier,
} from "../../src/testmodels/colour_classifier.ts";
import { buildColourDetector, type DetectorLayout } from "../../src/testmodels/colour_detector.ts";
import { GraphBuilder, writeOnnxModel } from "../../src/testmodels/onnx_writer.ts";
import {
  CAR_SCENE,
  colourFrameJpeg,
  colourFrameRgb,
  type FrameSpec,
} from "../../src/testmodels/frames.ts";
import { buildExampleArchive } from "../../src/testmodels/example_archives.ts";

const CAR: [number, number, number, number] = [200, 160, 840, 560];
const FRONTAL: [number, number, number, number] = [360, 400, 680, 540];

async function detector(
  layout: DetectorLayout,
  backend: BackendName = "native",
): Promise<DetectionModel> {
  const m = await loadModel(buildColourDetector({ layout }), { backend, threads: 1 });
  assert.equal(m.task, "detect");
  return m as DetectionModel;
}

async function classifier(
  classes = BRAND_CLASSES,
  family: "green" | "red" | "any" = "green",
  softmax = true,
  backend: BackendName = "native",
): Promise<ClassificationModel> {
  const m = await loadModel(buildColourClassifier({ classes, family, softmax }), {
    backend,
    threads: 1,
  });
  assert.equal(m.task, "classify");
  return m as ClassificationModel;
}

const byClass = (dets: Detection[]) => Object.fromEntries(dets.map((d) => [d.class, d]));

for (const layout of ["yolov8", "yolov5", "end2end"] as const) {
  Deno.test(`colour detector (${layout}): exact boxes from raw RGB, ±2 px from JPEG; duplicates removed`, async () => {
    const m = await detector(layout);
    try {
      assert.equal(m.layout, layout);
      assert.deepEqual(m.classNames, ["Car", "Frontal"]);
      assert.equal(m.inputWidth, 640);
      assert.equal(m.backend, "native");
      const raw = await m.detect(colourFrameRgb(CAR_SCENE), { minConfidence: 0.5 });
      assert.equal(raw.length, 2, JSON.stringify(raw));
      const r = byClass(raw);
      assert.deepEqual(r.Car.box, CAR);
      assert.deepEqual(r.Frontal.box, FRONTAL);
      assert.equal(r.Car.classId, 0);
      assert.ok(r.Car.confidence > 0.95 && r.Car.confidence <= 1);
      const jpeg = byClass(
        await m.detect({ jpeg: await colourFrameJpeg(CAR_SCENE) }, { minConfidence: 0.5 }),
      );
      for (const [name, want] of [["Car", CAR], ["Frontal", FRONTAL]] as const) {
        jpeg[name].box.forEach((v, i) =>
          assert.ok(Math.abs(v - want[i]) <= 2, `${name} ${jpeg[name].box} vs ${want}`)
        );
      }
    } finally {
      await m.dispose();
    }
  });
}

Deno.test("colour detector: confidence follows brightness; minConfidence and class filter apply", async () => {
  const m = await detector("yolov8");
  try {
    const scene: FrameSpec = {
      width: 640,
      height: 480,
      rects: [
        { box: [40, 40, 200, 160], rgb: [153, 0, 0] }, // Car at 0.6
        { box: [300, 300, 400, 380], rgb: [0, 230, 0] }, // Frontal at 0.9
      ],
    };
    const frame = colourFrameRgb(scene);
    const all = byClass(await m.detect(frame, { minConfidence: 0.5 }));
    assert.ok(Math.abs(all.Car.confidence - 0.6) < 0.01, String(all.Car.confidence));
    assert.ok(Math.abs(all.Frontal.confidence - 230 / 255) < 0.01);
    assert.deepEqual(
      all.Car.box,
      [40, 40, 200, 160],
      "a 640x480 frame letterboxes with no scaling",
    );
    assert.deepEqual((await m.detect(frame, { minConfidence: 0.7 })).map((d) => d.class), [
      "Frontal",
    ]);
    assert.deepEqual(
      (await m.detect(frame, { minConfidence: 0.5, classes: ["Car"] })).map((d) => d.class),
      ["Car"],
    );
    const empty = colourFrameRgb({
      width: 320,
      height: 240,
      background: [128, 128, 128],
      rects: [],
    });
    assert.deepEqual(await m.detect(empty, { minConfidence: 0.01 }), []);
    // portrait frame: pads left and right
    const portrait = colourFrameRgb({
      width: 720,
      height: 1280,
      rects: [{ box: [100, 200, 300, 600], rgb: [255, 0, 0] }],
    });
    assert.deepEqual((await m.detect(portrait, { minConfidence: 0.5 }))[0].box, [
      100,
      200,
      300,
      600,
    ]);
  } finally {
    await m.dispose();
  }
});

Deno.test("colour classifier: nearest prototype; softmax applied when the model outputs logits", async () => {
  const brand = await classifier(BRAND_CLASSES, "green", true);
  const body = await classifier(BODY_TYPE_CLASSES, "red", false);
  try {
    assert.equal(brand.inputWidth, 224);
    for (const proto of BRAND_CLASSES) {
      const crop = colourFrameRgb({
        width: 90,
        height: 60,
        rects: [{ box: [10, 10, 80, 50], rgb: proto.rgb }],
      });
      const c = await brand.classify(crop);
      assert.equal(c.class, proto.name);
      assert.ok(c.confidence > 0.99, `${proto.name} ${c.confidence}`);
    }
    // the car scene with an SUV-tinted body; green frontal pixels are ignored by the red family
    const scene = structuredClone(CAR_SCENE);
    scene.rects[0].rgb = [255, 100, 0];
    const c = await body.classify({ jpeg: await colourFrameJpeg(scene) });
    assert.equal(c.class, "SUV");
    assert.ok(c.confidence > 0.95 && c.confidence <= 1, "a probability, not a logit");
  } finally {
    await brand.dispose();
    await body.dispose();
  }
});

Deno.test("native and wasm backends give the same outputs within float tolerance", async () => {
  const jpeg = {
    jpeg: await colourFrameJpeg({
      ...CAR_SCENE,
      rects: [{ box: [101, 53, 777, 499], rgb: [240, 30, 20] }, {
        box: [300, 300, 500, 420],
        rgb: [20, 200, 60],
      }],
    }),
  };
  const results: Record<string, { dets: Detection[]; cls: { class: string; confidence: number } }> =
    {};
  for (const backend of ["native", "wasm"] as const) {
    const d = await detector("yolov8", backend);
    const c = await classifier(BODY_TYPE_CLASSES, "red", false, backend);
    try {
      assert.equal(d.backend, backend);
      assert.equal(c.backend, backend);
      results[backend] = {
        dets: await d.detect(jpeg, { minConfidence: 0.3 }),
        cls: await c.classify(jpeg),
      };
    } finally {
      await d.dispose();
      await c.dispose();
    }
  }
  const [n, w] = [results.native, results.wasm];
  assert.equal(n.dets.length, 2);
  assert.equal(w.dets.length, n.dets.length);
  n.dets.forEach((d, i) => {
    assert.equal(w.dets[i].class, d.class);
    assert.ok(
      Math.abs(w.dets[i].confidence - d.confidence) < 1e-4,
      `${w.dets[i].confidence} vs ${d.confidence}`,
    );
    d.box.forEach((v, k) => assert.ok(Math.abs(w.dets[i].box[k] - v) < 0.01));
  });
  assert.equal(w.cls.class, n.cls.class);
  assert.ok(Math.abs(w.cls.confidence - n.cls.confidence) < 1e-4);
});

Deno.test("concurrent calls on one model are serialised and all answered correctly", async () => {
  const m = await detector("yolov8");
  try {
    const frame = colourFrameRgb(CAR_SCENE);
    const all = await Promise.all(
      Array.from({ length: 6 }, () => m.detect(frame, { minConfidence: 0.5 })),
    );
    for (const dets of all) assert.deepEqual(byClass(dets).Car.box, CAR);
  } finally {
    await m.dispose();
  }
  await assert.rejects(
    () => m.detect(colourFrameRgb(CAR_SCENE), { minConfidence: 0.5 }),
    /disposed/,
  );
});

Deno.test("bad input to models: corrupt model, unsupported task, bad images", async () => {
  await assert.rejects(() => loadModel(new TextEncoder().encode("nope")), /not an ONNX model/);
  const g = new GraphBuilder();
  g.op("Identity", [g.input("images", [1, 3, 32, 32])], {}, "out");
  g.output("out", [1, 3, 32, 32]);
  const seg = writeOnnxModel({ graph: g, metadata: { task: "segment", names: "{0: 'a'}" } });
  await assert.rejects(() => loadModel(seg), /task "segment" is not supported/);
  const unnamed = buildColourDetector({ omitNames: true });
  await assert.rejects(() => loadModel(unnamed), /no class names/);
  const generic = await loadModel(unnamed, { allowGenericNames: true, threads: 1 });
  assert.deepEqual(generic.classNames, ["class0", "class1"]);
  await generic.dispose();
  const named = await loadModel(unnamed, { classNames: ["Car", "Frontal"], threads: 1 });
  try {
    assert.deepEqual(named.classNames, ["Car", "Frontal"]);
    const m = named as DetectionModel;
    await assert.rejects(
      () =>
        m.detect({ jpeg: new Uint8Array([0xff, 0xd8, 0xff, 0x00, 1, 2]) }, { minConfidence: 0.5 }),
      /not a decodable image|cannot decode/,
    );
    await assert.rejects(
      () => m.detect({ rgb: new Uint8Array(10), width: 4, height: 4 }, { minConfidence: 0.5 }),
      /does not match 4×4×3/,
    );
  } finally {
    await named.dispose();
  }
});

Deno.test("loadPipelineModels loads every node's model by modelId", async () => {
  const archive = await openArchive(buildExampleArchive("car_frontal_full.mpta"));
  const models: Map<string, Model> = await loadPipelineModels(archive, { threads: 1 });
  try {
    assert.deepEqual([...models.keys()], [
      "car_frontal_detection_v1",
      "car_brand_cls_v1",
      "car_bodytype_cls_v1",
    ]);
    assert.equal(models.get("car_frontal_detection_v1")!.task, "detect");
    assert.deepEqual(
      models.get("car_bodytype_cls_v1")!.classNames,
      BODY_TYPE_CLASSES.map((c) => c.name),
    );
  } finally {
    await disposeModels(models);
  }
  // a file that disappears between validation and loading names the node
  const broken = {
    ...archive,
    file: (p: string) => (p.includes("brand") ? undefined : archive.file(p)),
  };
  await assert.rejects(
    () => loadPipelineModels(broken, { threads: 1 }),
    /car_brand_cls_v1\.onnx" is not in the archive/,
  );
});
