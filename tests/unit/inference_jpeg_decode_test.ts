import assert from "node:assert/strict";
import sharp from "sharp";
import { loadModel } from "../../src/inference/load_model.ts";
import {
  decodeRgb,
  ImageError,
  letterbox,
  resizeForClassify,
} from "../../src/inference/preprocess.ts";
import { resampleToNchw } from "../../src/inference/resample.ts";
import {
  decodeScale,
  setTurboJpeg,
  turboDecode,
  turboJpegActive,
} from "../../src/inference/turbojpeg.ts";
import type { ClassificationModel, DetectionModel } from "../../src/inference/types.ts";
import { BRAND_CLASSES, buildColourClassifier } from "../../src/testmodels/colour_classifier.ts";
import { buildColourDetector } from "../../src/testmodels/colour_detector.ts";
import { CAR_SCENE, colourFrameJpeg, noisyFrameJpeg } from "../../src/testmodels/frames.ts";

/** A 1080p frame as ffmpeg encodes it by default (4:2:0), like a camera's snapshot. */
async function ffmpegFrame(width: number, height: number): Promise<Uint8Array> {
  const out = await new Deno.Command("ffmpeg", {
    args: [
      ...["-hide_banner", "-loglevel", "error", "-f", "lavfi"],
      ...["-i", `testsrc2=size=${width}x${height}`, "-frames:v", "1"],
      ...["-f", "image2pipe", "-c:v", "mjpeg", "pipe:1"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

/** The JPEGs users send: sizes that shrink by 1/2, 1/4 or not at all, odd, portrait, tiny. */
async function corpus(): Promise<[string, Uint8Array][]> {
  const noisy = (w: number, h: number) => noisyFrameJpeg(w, h);
  return [
    ["1920x1080 ffmpeg 4:2:0", await ffmpegFrame(1920, 1080)],
    ["3840x2160 ffmpeg", await ffmpegFrame(3840, 2160)],
    ["1280x720 colour scene", await colourFrameJpeg(CAR_SCENE)],
    [
      "1001x333 4:4:4",
      await sharp(await noisy(1001, 333)).jpeg({ chromaSubsampling: "4:4:4" }).toBuffer(),
    ],
    [
      "800x600 progressive",
      await sharp(await noisy(800, 600)).jpeg({ progressive: true }).toBuffer(),
    ],
    ["640x480 greyscale", await sharp(await noisy(640, 480)).greyscale().jpeg().toBuffer()],
    ["720x1280 portrait", await ffmpegFrame(720, 1280)],
    ["64x48 tiny", await noisy(64, 48)],
  ].map(([name, bytes]) => [name as string, new Uint8Array(bytes as Uint8Array)]);
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

async function withSharpOnly<T>(f: () => Promise<T>): Promise<T> {
  setTurboJpeg("off");
  try {
    return await f();
  } finally {
    setTurboJpeg("auto");
  }
}

Deno.test("libturbojpeg is loaded (scripts/setup.sh installs libturbojpeg0)", () => {
  assert.ok(turboJpegActive(), "libturbojpeg.so.0 not found: run scripts/setup.sh as root");
});

Deno.test("decode scale: the smallest DCT scale that keeps the wanted pixels", () => {
  assert.equal(decodeScale(1920, 1080, 640, 360), 2);
  assert.equal(decodeScale(3840, 2160, 640, 360), 4);
  assert.equal(decodeScale(2560, 1440, 640, 360), 4);
  assert.equal(decodeScale(5120, 2880, 640, 360), 8);
  assert.equal(decodeScale(1920, 1080, 224, 224), 4);
  assert.equal(decodeScale(1001, 333, 640, 213), 1);
  assert.equal(decodeScale(64, 48, 640, 480), 1);
});

Deno.test("resample: area weights when shrinking, bilinear when enlarging; only the region is written", () => {
  // RGBX with X set: it must not leak into any channel
  const px = (values: number[]) => new Uint8Array(values.flatMap((v) => [v, v, v, 255]));
  const run = (rgbx: Uint8Array, sw: number, sh: number, w: number, h: number) => {
    const out = new Float32Array(3 * (w + 1) * (h + 1)).fill(-1);
    resampleToNchw(rgbx, sw, sh, out, w + 1, h + 1, 1, 1, w, h);
    const plane = (w + 1) * (h + 1);
    assert.ok(out.subarray(0, w + 1).every((v) => v === -1), "the row above the region");
    const red = Array.from(out.subarray(0, plane), (v) => Math.round(v * 255 * 100) / 100);
    const blue = Array.from(out.subarray(2 * plane), (v) => Math.round(v * 255 * 100) / 100);
    assert.deepEqual(blue, red, "every channel the same");
    return red.filter((_, i) => i % (w + 1) !== 0 && i >= w + 1);
  };
  // 1.5×: each output takes one whole input and half of the next, both ways
  assert.deepEqual(run(px([0, 30, 60, 0, 30, 60, 0, 30, 60]), 3, 3, 2, 2), [10, 50, 10, 50]);
  // 2×: the mean of each 2×2 block
  assert.deepEqual(run(px([10, 20, 30, 40, 50, 60, 70, 80]), 4, 2, 2, 1), [35, 55]);
  // same size: a copy
  assert.deepEqual(run(px([1, 2, 3, 4]), 2, 2, 2, 2), [1, 2, 3, 4]);
  // enlarged: bilinear between centres, edges held
  assert.deepEqual(run(px([0, 100]), 2, 1, 4, 1), [0, 25, 75, 100]);
  // 2.5× (three inputs per output): still the mean of what each output covers
  assert.deepEqual(run(px([0, 10, 20, 30, 40]), 5, 1, 2, 1), [8, 32]);
});

Deno.test("libturbojpeg and sharp give the same model input for every kind of JPEG", async () => {
  for (const [name, jpeg] of await corpus()) {
    for (const [what, size] of [["letterbox", [640, 640]], ["classify", [224, 224]]] as const) {
      const pixels = await turboDecode(jpeg, 1, 1);
      assert.ok(pixels, `${name}: libturbojpeg takes it`);
      pixels.release();
      const prepare = async (): Promise<{ tensor: Float32Array; box?: unknown }> =>
        what === "letterbox"
          ? await letterbox({ jpeg }, size[0], size[1])
          : { tensor: await resizeForClassify({ jpeg }, size[0], size[1]) };
      const fast = await prepare();
      const slow = await withSharpOnly(prepare);
      assert.deepEqual(fast.box, slow.box, `${name} ${what}: geometry`);
      const diff = meanAbsDiff(fast.tensor, slow.tensor) * 255;
      // the kernels differ (area against lanczos3) most on noise shrunk 4×: 1.4/255 there
      if (!name.includes("greyscale")) assert.ok(diff > 0, `${name} ${what}: went through sharp`);
      assert.ok(diff < 1.5, `${name} ${what}: mean difference ${diff.toFixed(3)}/255`);
    }
  }
});

Deno.test("full-size decodes (crops, annotation) are the same pixels from both decoders", async () => {
  for (const [name, jpeg] of await corpus()) {
    const fast = await decodeRgb({ jpeg });
    const slow = await withSharpOnly(() => decodeRgb({ jpeg }));
    assert.deepEqual([fast.width, fast.height], [slow.width, slow.height], name);
    let sum = 0;
    for (let i = 0; i < fast.rgb.length; i++) sum += Math.abs(fast.rgb[i] - slow.rgb[i]);
    assert.ok(sum / fast.rgb.length < 0.5, `${name}: mean difference ${sum / fast.rgb.length}`);
  }
});

Deno.test("libturbojpeg and sharp give the same boxes and classes on the colour models", async () => {
  const det = await loadModel(buildColourDetector({ layout: "yolov8" }), { threads: 1 });
  const cls = await loadModel(buildColourClassifier({ classes: BRAND_CLASSES }), { threads: 1 });
  try {
    const jpeg = await colourFrameJpeg(CAR_SCENE);
    const run = async () => ({
      boxes: await (det as DetectionModel).detect({ jpeg }, { minConfidence: 0.5 }),
      top: await (cls as ClassificationModel).classify({ jpeg }),
    });
    const fast = await run();
    const slow = await withSharpOnly(run);
    assert.equal(fast.boxes.length, 2);
    assert.deepEqual(fast.boxes.map((d) => d.class), slow.boxes.map((d) => d.class));
    fast.boxes.forEach((d, i) => {
      d.box.forEach((v, j) => assert.ok(Math.abs(v - slow.boxes[i].box[j]) <= 1, `${d.box}`));
      assert.ok(Math.abs(d.confidence - slow.boxes[i].confidence) < 0.01);
    });
    assert.equal(fast.top.class, slow.top.class);
    assert.ok(Math.abs(fast.top.confidence - slow.top.confidence) < 0.01);
  } finally {
    await det.dispose();
    await cls.dispose();
  }
});

Deno.test("JPEGs libturbojpeg refuses go to sharp, which decodes them or names the error", async () => {
  const good = await colourFrameJpeg(CAR_SCENE);
  const huge = good.slice();
  const sof = huge.findIndex((b, i) => b === 0xff && huge[i + 1] === 0xc0);
  huge.set([0xff, 0xf0, 0xff, 0xf0], sof + 5); // 65520×65520 declared
  const cases: [string, Uint8Array][] = [
    ["truncated", good.subarray(0, good.length >> 1)],
    ["garbage after the header", Uint8Array.from(good, (b, i) => i > 700 ? (i * 131) & 0xff : b)],
    ["CMYK", new Uint8Array(await sharp(good).toColourspace("cmyk").jpeg().toBuffer())],
    ["65520×65520 declared", huge],
    ["not a JPEG", new TextEncoder().encode("GIF89a not a picture at all")],
  ];
  for (const [name, jpeg] of cases) {
    assert.equal(await turboDecode(jpeg, 80, 80), undefined, `${name}: refused`);
    const outcome = (p: Promise<{ tensor: Float32Array }>) =>
      p.then(
        (r) => ({ tensor: Array.from(r.tensor.subarray(0, 4096)) }),
        (err: Error) => ({ error: err instanceof ImageError, message: err.message }),
      );
    const fast = await outcome(letterbox({ jpeg }, 640, 640));
    const slow = await withSharpOnly(() => outcome(letterbox({ jpeg }, 640, 640)));
    assert.deepEqual(fast, slow, name);
  }
});

Deno.test("concurrent decodes each get their own handle and pixels", async () => {
  const jpegs = (await corpus()).map(([, jpeg]) => jpeg);
  const one = async (jpeg: Uint8Array) => Array.from((await letterbox({ jpeg }, 320, 320)).tensor);
  const sequential = [];
  for (const jpeg of jpegs) sequential.push(await one(jpeg));
  const together = await Promise.all([...jpegs, ...jpegs].map(one));
  assert.deepEqual(together, [...sequential, ...sequential]);
});

Deno.test("a library that cannot be loaded leaves JPEGs to sharp", async () => {
  setTurboJpeg("/nonexistent/libturbojpeg.so.0");
  try {
    assert.equal(turboJpegActive(), false);
    const jpeg = await colourFrameJpeg(CAR_SCENE);
    assert.equal(await turboDecode(jpeg, 64, 64), undefined);
    const { box } = await letterbox({ jpeg }, 640, 640);
    assert.equal(box.width, 1280);
  } finally {
    setTurboJpeg("auto");
  }
  assert.ok(turboJpegActive());
});
