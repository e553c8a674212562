/**
 * The models and frame of the inference, replay and worker benchmarks. By default the project
 * generates them (src/testmodels/yolo_models.ts: YOLOv8n and YOLOv8n-cls layer graphs, random
 * weights calibrated on a `testsrc2` frame like the ones the benches feed) and caches the .onnx
 * files in `.bench-models/` (git-ignored), so a fresh clone runs every bench.
 * DETECTOR_BENCH_DET_MODEL / DETECTOR_BENCH_CLS_MODEL point at other ONNX files instead
 * (e.g. real exports), DETECTOR_BENCH_FRAME at another 1080p JPEG.
 */
import { letterbox, resizeForClassify } from "../../src/inference/preprocess.ts";
import { zipDeterministic } from "../../src/mpta/pack.ts";
import {
  buildYoloV8nClassifier,
  buildYoloV8nDetector,
  type YoloModel,
} from "../../src/testmodels/yolo_models.ts";

export interface BenchModel {
  bytes: Uint8Array;
  path: string;
  /** "generated" or "DETECTOR_BENCH_…_MODEL". */
  origin: string;
}

const root = new URL("../../", import.meta.url).pathname;
const cacheDir = `${root}.bench-models`;
/** Bump when the generator or its calibration changes, so stale caches are not used. */
const GENERATOR_VERSION = 1;

/** A 1920×1080 ffmpeg `testsrc2` frame as JPEG (DETECTOR_BENCH_FRAME overrides). */
export async function benchFrame(): Promise<{ jpeg: Uint8Array; origin: string }> {
  const path = Deno.env.get("DETECTOR_BENCH_FRAME");
  if (path) return { jpeg: await Deno.readFile(path), origin: path };
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=1920x1080:rate=25",
      "-ss",
      "3",
      "-frames:v",
      "1",
      "-q:v",
      "3",
      "-f",
      "image2pipe",
      "-c:v",
      "mjpeg",
      "pipe:1",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ffmpeg: ${new TextDecoder().decode(out.stderr)}`);
  return { jpeg: out.stdout, origin: "ffmpeg testsrc2 1920×1080 JPEG" };
}

async function cached(
  name: string,
  build: (frame: Uint8Array) => Promise<YoloModel>,
): Promise<BenchModel> {
  const path = `${cacheDir}/${name}-v${GENERATOR_VERSION}.onnx`;
  try {
    return { bytes: await Deno.readFile(path), path, origin: "generated (cached)" };
  } catch {
    // generate below
  }
  const t0 = performance.now();
  console.error(`generating ${name} (random weights, calibrated in TypeScript; once)…`);
  const model = await build((await benchFrame()).jpeg);
  await Deno.mkdir(cacheDir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeFile(tmp, model.bytes);
  await Deno.rename(tmp, path);
  console.error(
    `  ${name}: ${model.gflops.toFixed(2)} GFLOPs, ${model.params} parameters, ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return { bytes: model.bytes, path, origin: "generated" };
}

async function fromEnv(variable: string): Promise<BenchModel | undefined> {
  const path = Deno.env.get(variable);
  if (!path) return undefined;
  return { bytes: await Deno.readFile(path), path, origin: variable };
}

/** The YOLOv8n-size detector (640×640 input, output [1, 84, 8400]). */
export async function benchDetector(): Promise<BenchModel> {
  return await fromEnv("DETECTOR_BENCH_DET_MODEL") ??
    await cached("yolov8n-random-640", async (jpeg) => {
      const { tensor } = await letterbox({ jpeg }, 640, 640);
      return buildYoloV8nDetector({ calibration: { size: 640, data: tensor } });
    });
}

/** The YOLOv8n-cls-size classifier (224×224 input, 10 classes). */
export async function benchClassifier(): Promise<BenchModel> {
  return await fromEnv("DETECTOR_BENCH_CLS_MODEL") ??
    await cached("yolov8n-cls-random-224", async (jpeg) => {
      const data = await resizeForClassify({ jpeg }, 224, 224);
      return buildYoloV8nClassifier({ calibration: { size: 224, data } });
    });
}

/** Writes a `.mpta` whose root is `model` detecting vehicles and people (no branches, no actions). */
export async function writeDetectorArchive(path: string, model: Uint8Array): Promise<void> {
  await Deno.writeFile(
    path,
    zipDeterministic({
      "pipeline.json": new TextEncoder().encode(JSON.stringify({
        pipeline: {
          modelId: "yolov8n",
          modelFile: "yolov8n.onnx",
          minConfidence: 0.25,
          triggerClasses: ["person", "car", "truck", "bus", "bicycle", "motorcycle"],
          branches: [],
          actions: [],
        },
      })),
      "yolov8n.onnx": model,
    }),
  );
}
