import assert from "node:assert/strict";
import sharp from "sharp";
import { buildColourDetector } from "../../src/testmodels/colour_detector.ts";
import { CAR_SCENE, colourFrameJpeg, colourFrameRgb } from "../../src/testmodels/frames.ts";
import { BRAND_CLASSES, buildColourClassifier } from "../../src/testmodels/colour_classifier.ts";

const pipelines = new URL("../../pipelines/", import.meta.url).pathname;
const main = new URL("../../main.ts", import.meta.url).pathname;

async function detect(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; json?: Record<string, unknown>; err: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "detect", ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  const err = new TextDecoder().decode(r.stderr);
  return { code: r.code, json: r.code === 0 ? JSON.parse(out) : undefined, err };
}

interface Det {
  class: string;
  box: number[];
  confidence: number;
}

interface Branch {
  class: string | null;
  confidence: number | null;
  fields: Record<string, unknown>;
}

Deno.test("detect --mpta: root detections, brand and body type from the branches, planned writes; --annotate", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const scene = structuredClone(CAR_SCENE);
    scene.rects[0].rgb = [255, 100, 0]; // SUV
    scene.rects[1].rgb = [0, 255, 100]; // Ford
    await Deno.writeFile(`${dir}/car.jpg`, await colourFrameJpeg(scene));
    const r = await detect([
      `${dir}/car.jpg`,
      "--mpta",
      `${pipelines}car_frontal_full.mpta`,
      "--annotate",
      `${dir}/out.jpg`,
    ]);
    assert.equal(r.code, 0, r.err);
    const j = r.json!;
    assert.equal(j.width, 1280);
    assert.equal(j.backend, "native");
    assert.equal(j.minConfidence, 0.8);
    const dets = j.detections as Det[];
    const car = dets.find((d) => d.class === "Car")!;
    const frontal = dets.find((d) => d.class === "Frontal")!;
    car.box.forEach((v, i) => assert.ok(Math.abs(v - [200, 160, 840, 560][i]) <= 2, `${car.box}`));
    frontal.box.forEach((v, i) =>
      assert.ok(Math.abs(v - [360, 400, 680, 540][i]) <= 2, `${frontal.box}`)
    );
    // the body type classifier crops the Car region, the brand classifier the Frontal one
    const branches = j.branches as Record<string, Branch>;
    assert.deepEqual(
      [branches.car_bodytype_cls_v1.class, branches.car_bodytype_cls_v1.fields],
      ["SUV", { body_type: "SUV" }],
    );
    assert.deepEqual(
      [branches.car_brand_cls_v1.class, branches.car_brand_cls_v1.fields],
      ["Ford", { brand: "Ford" }],
    );
    // the event's writes are planned, not done
    const writes = j.writes as { sink: string; op: string; fields?: Record<string, unknown> }[];
    assert.deepEqual(writes.find((w) => w.op === "upsert")?.fields, {
      car_brand: "Ford",
      car_body_type: "SUV",
    });
    const meta = await sharp(await Deno.readFile(`${dir}/out.jpg`)).metadata();
    assert.equal(meta.format, "jpeg");
    assert.equal(meta.width, 1280);
    // the annotation drew something: the image differs from the input
    const a = await sharp(`${dir}/out.jpg`).raw().toBuffer();
    const b = await sharp(`${dir}/car.jpg`).raw().toBuffer();
    let changed = 0;
    for (let i = 0; i < a.length; i += 3) {
      if (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) > 60) changed++;
    }
    assert.ok(changed > 1000, `annotation changed ${changed} pixels`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detect --model: a bare ONNX file, each layout, --backend wasm, --min-confidence, --classes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/car.jpg`, await colourFrameJpeg(CAR_SCENE));
    for (const layout of ["yolov8", "yolov5", "end2end"] as const) {
      await Deno.writeFile(`${dir}/${layout}.onnx`, buildColourDetector({ layout }));
      const r = await detect([`${dir}/car.jpg`, "--model", `${dir}/${layout}.onnx`]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.json!.layout, layout);
      assert.deepEqual((r.json!.detections as Det[]).map((d) => d.class).sort(), [
        "Car",
        "Frontal",
      ]);
    }
    const w = await detect([
      `${dir}/car.jpg`,
      "--model",
      `${dir}/yolov8.onnx`,
      "--backend",
      "wasm",
      "--classes",
      "Car",
    ]);
    assert.equal(w.code, 0, w.err);
    assert.equal(w.json!.backend, "wasm");
    assert.deepEqual((w.json!.detections as Det[]).map((d) => d.class), ["Car"]);
    const none = await detect([
      `${dir}/car.jpg`,
      "--model",
      `${dir}/yolov8.onnx`,
      "--min-confidence",
      "1",
    ]);
    assert.deepEqual(none.json!.detections, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detect: bad input gets a clear error and a non-zero exit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/notimage.jpg`, "this is text");
    await Deno.writeFile(`${dir}/car.jpg`, await colourFrameJpeg(CAR_SCENE));
    await Deno.writeTextFile(`${dir}/bad.onnx`, "not a model");
    const cases: [string[], RegExp][] = [
      [[`${dir}/missing.jpg`, "--model", `${dir}/bad.onnx`], /cannot read image .*missing\.jpg/],
      [
        [`${dir}/notimage.jpg`, "--mpta", `${pipelines}car_detection_only.mpta`],
        /notimage\.jpg: not a decodable image/,
      ],
      [[`${dir}/car.jpg`, "--model", `${dir}/bad.onnx`], /bad\.onnx: not an ONNX model/],
      [[`${dir}/car.jpg`], /exactly one of --mpta FILE or --model/],
      [[`${dir}/car.jpg`, "--mpta", `${dir}/bad.onnx`], /not a ZIP archive/],
      [
        [`${dir}/car.jpg`, "--model", `${dir}/bad.onnx`, "--backend", "gpu"],
        /--backend expects one of auto, native, wasm/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const r = await detect(args);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.match(r.err, pattern);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detect: a classification model prints its top-1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(
      `${dir}/brand.onnx`,
      buildColourClassifier({ classes: BRAND_CLASSES, family: "green" }),
    );
    const frontal = colourFrameRgb({
      width: 300,
      height: 200,
      rects: [{ box: [0, 0, 300, 200], rgb: [100, 255, 0] }],
    });
    await Deno.writeFile(
      `${dir}/frontal.jpg`,
      await sharp(frontal.rgb, { raw: { width: 300, height: 200, channels: 3 } }).jpeg().toBuffer(),
    );
    const r = await detect([`${dir}/frontal.jpg`, "--model", `${dir}/brand.onnx`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json!.task, "classify");
    const c = r.json!.classification as { class: string; confidence: number };
    assert.equal(c.class, "Toyota");
    assert.ok(c.confidence > 0.99);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detect --backend auto falls back to wasm with one log line when native cannot start", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/car.jpg`, await colourFrameJpeg(CAR_SCENE));
    const off = { DETECTOR_NATIVE_BACKEND: "off" };
    const r = await detect([`${dir}/car.jpg`, "--mpta", `${pipelines}car_frontal_full.mpta`], off);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.json!.backend, "wasm");
    const lines = r.err.split("\n").filter((l) => /falling back to wasm/.test(l));
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], /DETECTOR_NATIVE_BACKEND=off/);
    const dets = r.json!.detections as Det[];
    assert.deepEqual(dets.map((d) => d.class).sort(), ["Car", "Frontal"]);
    const branches = r.json!.branches as Record<string, Branch>;
    assert.deepEqual(
      Object.keys(branches).sort(),
      ["car_bodytype_cls_v1", "car_brand_cls_v1"],
      "branches ran on wasm too",
    );
    assert.ok(Object.values(branches).every((b) => b.class), JSON.stringify(branches));
    const forced = await detect([
      `${dir}/car.jpg`,
      "--mpta",
      `${pipelines}car_frontal_full.mpta`,
      "--backend",
      "native",
    ], off);
    assert.notEqual(forced.code, 0);
    assert.match(forced.err, /disabled by DETECTOR_NATIVE_BACKEND=off/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
