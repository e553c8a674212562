/**
 * The example archives of `pipelines/` (built by `deno task pipelines`), also used by tests of
 * other modules: `car_frontal_full.mpta` (the original worker's documented example with colour models: car+frontal
 * detection, brand and body-type branches, Redis and PostgreSQL actions) and
 * `car_detection_only.mpta` (detection only, no databases).
 */
import { zipDeterministic } from "../mpta/mod.ts";
import { BODY_TYPE_CLASSES, BRAND_CLASSES, buildColourClassifier } from "./colour_classifier.ts";
import { buildColourDetector } from "./colour_detector.ts";

export interface ExampleArchive {
  /** File name in pipelines/. */
  file: string;
  description: string;
  /** Path → bytes, as packed (pipeline.json and models). */
  files(): Record<string, Uint8Array>;
  build(): Uint8Array;
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + "\n");

/** pipeline.json of the full example: the original worker's documented example with `.onnx` models. */
export function fullExamplePipeline(): Record<string, unknown> {
  return {
    redis: { host: "127.0.0.1", port: 6379, db: 0 },
    postgresql: {
      host: "127.0.0.1",
      port: 5432,
      database: "inference",
      username: "detector",
      password: "detector",
    },
    pipeline: {
      modelId: "car_frontal_detection_v1",
      modelFile: "car_frontal_detection_v1.onnx",
      crop: false,
      triggerClasses: ["Car", "Frontal"],
      minConfidence: 0.8,
      multiClass: true,
      expectedClasses: ["Car", "Frontal"],
      actions: [
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
          message: '{"event":"frontal_detected"}',
        },
      ],
      branches: [
        {
          modelId: "car_brand_cls_v1",
          modelFile: "car_brand_cls_v1.onnx",
          crop: true,
          cropClass: "Frontal",
          resizeTarget: [224, 224],
          triggerClasses: ["Frontal"],
          minConfidence: 0.85,
          parallel: true,
          branches: [],
        },
        {
          modelId: "car_bodytype_cls_v1",
          modelFile: "car_bodytype_cls_v1.onnx",
          crop: true,
          cropClass: "Car",
          resizeTarget: [224, 224],
          triggerClasses: ["Car"],
          minConfidence: 0.85,
          parallel: true,
          branches: [],
        },
      ],
      parallelActions: [
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
    },
  };
}

/** pipeline.json of the detection-only example (no actions, no databases). */
export function detectionOnlyPipeline(): Record<string, unknown> {
  return {
    pipeline: {
      modelId: "car_detection_v1",
      modelFile: "car_detection_v1.onnx",
      triggerClasses: ["Car", "Frontal"],
      minConfidence: 0.5,
      multiClass: true,
      branches: [],
      actions: [],
    },
  };
}

/** Model files of the full example: detector, brand classifier (green), body type (red, logits). */
export function fullExampleModels(): Record<string, Uint8Array> {
  return {
    "car_frontal_detection_v1.onnx": buildColourDetector(),
    "car_brand_cls_v1.onnx": buildColourClassifier({ classes: BRAND_CLASSES, family: "green" }),
    "car_bodytype_cls_v1.onnx": buildColourClassifier({
      classes: BODY_TYPE_CLASSES,
      family: "red",
      softmax: false,
    }),
  };
}

const FULL_FOLDER = "car_frontal_full";

export const EXAMPLE_ARCHIVES: ExampleArchive[] = [
  {
    file: "car_frontal_full.mpta",
    description:
      "the original worker's example: Car+Frontal detection, brand and body-type branches, " +
      "Redis image + publish, PostgreSQL combined update (files in one top-level folder)",
    files() {
      const out: Record<string, Uint8Array> = {
        [`${FULL_FOLDER}/pipeline.json`]: json(fullExamplePipeline()),
      };
      for (const [name, bytes] of Object.entries(fullExampleModels())) {
        out[`${FULL_FOLDER}/${name}`] = bytes;
      }
      return out;
    },
    build() {
      return zipDeterministic(this.files());
    },
  },
  {
    file: "car_detection_only.mpta",
    description: "Car+Frontal colour detection only: no branches, no actions, no databases",
    files() {
      return {
        "pipeline.json": json(detectionOnlyPipeline()),
        "car_detection_v1.onnx": buildColourDetector(),
      };
    },
    build() {
      return zipDeterministic(this.files());
    },
  },
];

/** Builds an example archive by file name. */
export function buildExampleArchive(file: string): Uint8Array {
  const ex = EXAMPLE_ARCHIVES.find((e) => e.file === file);
  if (!ex) throw new Error(`no example archive named ${file}`);
  return ex.build();
}
