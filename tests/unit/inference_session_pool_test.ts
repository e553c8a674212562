import assert from "node:assert/strict";
import sharp from "sharp";
import { Metrics } from "../../src/core/metrics.ts";
import type { BackendSession, TensorData } from "../../src/inference/backend.ts";
import { createSession } from "../../src/inference/backends.ts";
import { loadModel } from "../../src/inference/load_model.ts";
import { jpegHeaderSize } from "../../src/core/jpeg.ts";
import { imageSize, letterbox, rgbToNchw } from "../../src/inference/preprocess.ts";
import {
  modelInstances,
  SessionPool,
  setModelInstances,
} from "../../src/inference/session_pool.ts";
import type { DetectionModel } from "../../src/inference/types.ts";
import { openArchive } from "../../src/mpta/archive.ts";
import { disposeModels, loadPipelineModels } from "../../src/pipeline/models.ts";
import { buildColourDetector } from "../../src/testmodels/colour_detector.ts";
import { buildExampleArchive } from "../../src/testmodels/example_archives.ts";
import { CAR_SCENE, colourFrameJpeg, colourFrameRgb } from "../../src/testmodels/frames.ts";

const CAR = [200, 160, 840, 560];

/** A real session that counts the runs it has at once. */
function watched(s: BackendSession, seen: { now: number; max: number; runs: number }) {
  return {
    backend: s.backend,
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(inputs: Record<string, TensorData>) {
      seen.now++;
      seen.runs++;
      seen.max = Math.max(seen.max, seen.now);
      try {
        return await s.run(inputs);
      } finally {
        seen.now--;
      }
    },
    dispose: () => s.dispose(),
  };
}

Deno.test("model instances: runs go to free instances at once, answers stay right", async () => {
  const m = await loadModel(buildColourDetector({ layout: "yolov8" }), {
    backend: "native",
    threads: 1,
    instances: 3,
  }) as DetectionModel;
  try {
    assert.equal(m.parallelRuns, 3);
    const frame = colourFrameRgb(CAR_SCENE);
    const all = await Promise.all(
      Array.from({ length: 9 }, () => m.detect(frame, { minConfidence: 0.5 })),
    );
    for (const dets of all) assert.deepEqual(dets.find((d) => d.class === "Car")?.box, CAR);
  } finally {
    await m.dispose();
  }
  await assert.rejects(
    () => m.detect(colourFrameRgb(CAR_SCENE), { minConfidence: 0.5 }),
    /disposed/,
  );
});

Deno.test("session pool: dispatch to the least busy instance; queue bounded and counted", async () => {
  const onnx = buildColourDetector({ layout: "yolov8" });
  const seen = [0, 1].map(() => ({ now: 0, max: 0, runs: 0 }));
  const real = await Promise.all(
    [0, 1].map(() => createSession(onnx, "native", { threads: 1, budget: null })),
  );
  const metrics = new Metrics();
  const pool = new SessionPool(real.map((s, i) => watched(s, seen[i])), 4, metrics);
  assert.equal(pool.parallelRuns, 2);
  const input = () => ({
    [pool.inputNames[0]]: {
      data: rgbToNchw(colourFrameRgb(CAR_SCENE).rgb, 1280, 720).subarray(0, 3 * 640 * 640),
      dims: [1, 3, 640, 640],
    },
  });
  try {
    const runs = Array.from({ length: 6 }, () => pool.run(input()).then(() => "ok", (e) => e));
    const results = await Promise.all(runs);
    assert.equal(results.filter((r) => r === "ok").length, 4, "4 runs fit in the queue");
    for (const r of results.filter((r) => r !== "ok")) assert.match(String(r), /queue full/);
    assert.equal(metrics.get("detector_inference_dropped_total", { backend: "native" }), 2);
    assert.deepEqual(seen.map((s) => s.runs), [2, 2], "each instance took half the runs");
    assert.deepEqual(seen.map((s) => s.max), [2, 2]);
    assert.equal((await pool.run(input()))[pool.outputNames[0]].dims.length, 3);
  } finally {
    await pool.dispose();
  }
  await assert.rejects(() => real[1].run(input()), /disposed/);
});

Deno.test("pipelines: the root model gets the instances, branches one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "instances_" });
  try {
    await Deno.writeFile(`${dir}/full.mpta`, buildExampleArchive("car_frontal_full.mpta"));
    const archive = await openArchive(`${dir}/full.mpta`);
    const models = await loadPipelineModels(archive, { backend: "native", instances: 2 });
    try {
      const root = archive.spec.pipeline;
      assert.equal(models.get(root.modelId)?.parallelRuns, 2);
      for (const b of root.branches) assert.equal(models.get(b.modelId)?.parallelRuns, 1);
    } finally {
      await disposeModels(models);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("default instances: one per core up to 2, one per 2 cores up to 4; the setting wins", () => {
  assert.deepEqual([1, 2, 3, 4, 8, 16, 64].map(modelInstances), [1, 2, 1, 2, 4, 4, 4]);
  setModelInstances(3);
  try {
    assert.equal(modelInstances(16), 3);
  } finally {
    setModelInstances(undefined);
  }
});

Deno.test("JPEG size from the frame header matches sharp; other bytes fall back", async () => {
  for (const size of [[1280, 720], [720, 1280], [33, 17]]) {
    const jpeg = await colourFrameJpeg({ ...CAR_SCENE, width: size[0], height: size[1] });
    assert.deepEqual(jpegHeaderSize(jpeg), await imageSize({ jpeg }));
    const progressive = await sharp(jpeg).jpeg({ progressive: true }).toBuffer();
    assert.deepEqual(jpegHeaderSize(progressive), { width: size[0], height: size[1] });
  }
  const png = await sharp(colourFrameRgb(CAR_SCENE).rgb, {
    raw: { width: 1280, height: 720, channels: 3 },
  }).png().toBuffer();
  assert.equal(jpegHeaderSize(png), undefined);
  assert.equal(jpegHeaderSize(new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 2])), undefined);
  assert.equal(jpegHeaderSize(new Uint8Array([0xff, 0xd8, 0xff, 0x00, 1, 2])), undefined);
  // a PNG still letterboxes (its size read by sharp)
  const { box } = await letterbox({ jpeg: png }, 640, 640);
  assert.deepEqual([box.width, box.height, box.padY], [1280, 720, 140]);
});

Deno.test("a run hands its input buffer back, same contents; a model reuses it", async () => {
  const onnx = buildColourDetector({ layout: "yolov8" });
  const s = await createSession(onnx, "native", { threads: 1, budget: null });
  try {
    const data = rgbToNchw(colourFrameRgb(CAR_SCENE).rgb, 1280, 720).subarray(0, 3 * 640 * 640);
    const copy = data.slice();
    const input = { data, dims: [1, 3, 640, 640] };
    await s.run({ [s.inputNames[0]]: input });
    assert.equal(data.length, 0, "the buffer went to the worker");
    assert.deepEqual(input.data, copy);
  } finally {
    await s.dispose();
  }
  // a reused tensor is written whole: a portrait frame after a landscape one (other grey bars)
  const portrait = colourFrameRgb({
    width: 720,
    height: 1280,
    rects: [{ box: [100, 500, 620, 900], rgb: [250, 10, 100] }],
  });
  const fresh = await loadModel(onnx, { backend: "native", threads: 1 }) as DetectionModel;
  const m = await loadModel(onnx, { backend: "native", threads: 1 }) as DetectionModel;
  try {
    const want = await fresh.detect(portrait, { minConfidence: 0.3 });
    assert.ok(want.length > 0);
    const first = await m.prepare!(colourFrameRgb(CAR_SCENE));
    await m.detectPrepared!(first, { minConfidence: 0.5 });
    assert.equal(first.tensor.length, 0, "the first tensor went to the worker");
    assert.deepEqual(await m.detect(portrait, { minConfidence: 0.3 }), want);
  } finally {
    await Promise.all([m.dispose(), fresh.dispose()]);
  }
});

Deno.test("every spinning policy loads a 2-thread session and gives the same boxes", async () => {
  const frame = colourFrameRgb(CAR_SCENE);
  const boxes = [];
  for (const spinning of ["off", "runs", "on"] as const) {
    const m = await loadModel(buildColourDetector({ layout: "yolov8" }), {
      backend: "native",
      threads: 2,
      spinning,
    }) as DetectionModel;
    try {
      boxes.push(await m.detect(frame, { minConfidence: 0.5 }));
    } finally {
      await m.dispose();
    }
  }
  assert.deepEqual(boxes[0].find((d) => d.class === "Car")?.box, CAR);
  assert.deepEqual(boxes[1], boxes[0]);
  assert.deepEqual(boxes[2], boxes[0]);
});
