/**
 * Small in-process models implementing src/inference/types.ts, for unit tests of the pipeline
 * engine: a detector that finds colour regions in raw RGB frames and a classifier that picks the
 * prototype nearest to the mean colour. The integration tests use the real ONNX test models.
 */
import sharp from "sharp";
import type {
  Classification,
  ClassificationModel,
  Detection,
  DetectionModel,
  DetectOptions,
  ImageInput,
} from "../../src/inference/types.ts";
import type { Action, PipelineArchive, PipelineNode, PipelineSpec } from "../../src/mpta/types.ts";

export type Rgb = [number, number, number];

export interface Rect {
  box: [number, number, number, number];
  rgb: Rgb;
}

/** Raw RGB frame: background plus filled rectangles (x2/y2 exclusive). */
export function rgbFrame(width: number, height: number, rects: Rect[], bg: Rgb = [40, 40, 40]) {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(bg, i * 3);
  for (const r of rects) {
    for (let y = r.box[1]; y < r.box[3]; y++) {
      for (let x = r.box[0]; x < r.box[2]; x++) rgb.set(r.rgb, (y * width + x) * 3);
    }
  }
  return { rgb, width, height };
}

async function pixels(image: ImageInput) {
  if ("rgb" in image) return image;
  const { data, info } = await sharp(image.jpeg).removeAlpha().raw().toBuffer({
    resolveWithObject: true,
  });
  return { rgb: new Uint8Array(data), width: info.width, height: info.height };
}

/** Which family a pixel is in: channel > 127 high, else low (as the ONNX colour models). */
type Family = "red" | "green" | "blue";
const FAMILY_TEST: Record<Family, (r: number, g: number, b: number) => boolean> = {
  red: (r, g, b) => r > 127 && g <= 127 && b <= 127,
  green: (r, g, b) => r <= 127 && g > 127 && b <= 127,
  blue: (r, g, b) => r <= 127 && g <= 127 && b > 127,
};
const MAIN: Record<Family, number> = { red: 0, green: 1, blue: 2 };

export interface FakeDetector extends DetectionModel {
  calls: { width: number; height: number; opts: DetectOptions }[];
}

/** Box = bounding box of the family's pixels, score = mean main channel / 255. */
export function fakeDetector(classes: { name: string; family: Family }[]): FakeDetector {
  const calls: FakeDetector["calls"] = [];
  return {
    task: "detect",
    layout: "yolov8",
    classNames: classes.map((c) => c.name),
    inputWidth: 640,
    inputHeight: 640,
    backend: "native",
    calls,
    dispose: () => Promise.resolve(),
    async detect(image, opts) {
      const px = await pixels(image);
      calls.push({ width: px.width, height: px.height, opts });
      const out: Detection[] = [];
      classes.forEach((c, classId) => {
        if (opts.classes && !opts.classes.includes(c.name)) return;
        let x1 = Infinity, y1 = Infinity, x2 = -1, y2 = -1, sum = 0, n = 0;
        for (let y = 0; y < px.height; y++) {
          for (let x = 0; x < px.width; x++) {
            const p = (y * px.width + x) * 3;
            const [r, g, b] = [px.rgb[p], px.rgb[p + 1], px.rgb[p + 2]];
            if (!FAMILY_TEST[c.family](r, g, b)) continue;
            x1 = Math.min(x1, x);
            y1 = Math.min(y1, y);
            x2 = Math.max(x2, x + 1);
            y2 = Math.max(y2, y + 1);
            sum += px.rgb[p + MAIN[c.family]];
            n++;
          }
        }
        if (!n) return;
        const confidence = sum / n / 255;
        if (confidence < opts.minConfidence) return;
        out.push({ class: c.name, classId, confidence, box: [x1, y1, x2, y2] });
      });
      return out;
    },
  };
}

export interface FakeClassifier extends ClassificationModel {
  calls: { width: number; height: number; mean: Rgb }[];
  /** Most classify calls in flight at once. */
  maxConcurrent: number;
}

/** Nearest prototype to the mean colour; `delayMs` keeps calls in flight to observe overlap. */
export function fakeClassifier(
  prototypes: { name: string; rgb: Rgb }[],
  delayMs = 0,
): FakeClassifier {
  let inFlight = 0;
  const model: FakeClassifier = {
    task: "classify",
    classNames: prototypes.map((p) => p.name),
    inputWidth: 224,
    inputHeight: 224,
    backend: "native",
    calls: [],
    maxConcurrent: 0,
    dispose: () => Promise.resolve(),
    async classify(image): Promise<Classification> {
      inFlight++;
      model.maxConcurrent = Math.max(model.maxConcurrent, inFlight);
      try {
        const px = await pixels(image);
        const mean: Rgb = [0, 0, 0];
        for (let i = 0; i < px.rgb.length; i += 3) {
          for (let c = 0; c < 3; c++) mean[c] += px.rgb[i + c];
        }
        const n = px.rgb.length / 3;
        for (let c = 0; c < 3; c++) mean[c] = Math.round(mean[c] / n);
        model.calls.push({ width: px.width, height: px.height, mean });
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        let best = 0, bestD = Infinity;
        prototypes.forEach((p, i) => {
          const d = p.rgb.reduce((s, v, c) => s + (v - mean[c]) ** 2, 0);
          if (d < bestD) [best, bestD] = [i, d];
        });
        return { class: prototypes[best].name, classId: best, confidence: 0.97 };
      } finally {
        inFlight--;
      }
    },
  };
  return model;
}

/** A node with MPTA.md defaults applied. */
export function node(p: Partial<PipelineNode> & Pick<PipelineNode, "modelId">): PipelineNode {
  return {
    modelFile: `${p.modelId}.onnx`,
    minConfidence: 0.5,
    triggerClasses: [],
    crop: false,
    resizeTarget: [224, 224],
    multiClass: false,
    expectedClasses: [],
    parallel: false,
    branches: [],
    actions: [],
    parallelActions: [],
    iou: 0.45,
    ...p,
  };
}

export function archiveOf(spec: PipelineSpec): PipelineArchive {
  return { spec, hash: "test", file: () => undefined };
}

/** The pympta.md example tree (Car + Frontal, brand and body-type branches, all actions). */
export function exampleSpec(overrides: { actions?: Action[]; parallelActions?: Action[] } = {}) {
  const spec: PipelineSpec = {
    redis: { host: "127.0.0.1", port: 1, db: 0 },
    postgresql: { host: "127.0.0.1", port: 1, database: "x", username: "u", password: "p" },
    pipeline: node({
      modelId: "car_frontal_detection_v1",
      triggerClasses: ["Car", "Frontal"],
      minConfidence: 0.8,
      multiClass: true,
      expectedClasses: ["Car", "Frontal"],
      actions: overrides.actions ?? [
        {
          type: "redis_save_image",
          region: "Frontal",
          key: "inference:{display_id}:{timestamp}:{session_id}:{filename}",
          expire_seconds: 600,
          format: "jpeg",
          quality: 90,
        },
        {
          type: "redis_publish",
          channel: "car_detections",
          message:
            '{"event":"frontal_detected","session_id":"{session_id}","image_key":"{image_key}","confidence":{confidence}}',
        },
      ],
      branches: [
        node({
          modelId: "car_brand_cls_v1",
          crop: true,
          cropClass: "Frontal",
          triggerClasses: ["Frontal"],
          minConfidence: 0.85,
          parallel: true,
        }),
        node({
          modelId: "car_bodytype_cls_v1",
          crop: true,
          cropClass: "Car",
          triggerClasses: ["Car"],
          minConfidence: 0.85,
          parallel: true,
        }),
      ],
      parallelActions: overrides.parallelActions ?? [
        {
          type: "postgresql_update_combined",
          table: "car_frontal_info",
          key_field: "session_id",
          key_value: "{session_id}",
          waitForBranches: ["car_brand_cls_v1", "car_bodytype_cls_v1"],
          fields: {
            car_brand: "{car_brand_cls_v1.brand}",
            car_body_type: "{car_bodytype_cls_v1.body_type}",
          },
        },
      ],
    }),
  };
  return spec;
}

export const BRANDS = [
  { name: "Honda", rgb: [0, 230, 0] as Rgb },
  { name: "Toyota", rgb: [100, 230, 0] as Rgb },
];
export const BODY_TYPES = [
  { name: "Sedan", rgb: [230, 0, 0] as Rgb },
  { name: "SUV", rgb: [230, 100, 0] as Rgb },
];

/** Models for exampleSpec(): red = Car, green = Frontal. */
export function exampleModels(delayMs = 0) {
  return {
    detector: fakeDetector([{ name: "Car", family: "red" }, { name: "Frontal", family: "green" }]),
    brand: fakeClassifier(BRANDS, delayMs),
    body: fakeClassifier(BODY_TYPES, delayMs),
  };
}
