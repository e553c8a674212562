/**
 * `detector detect IMAGE --mpta FILE | --model FILE.onnx`: runs one image through a model, or
 * through an archive's whole pipeline as `run` and `replay` do (without writing anything), and
 * prints the result as JSON.
 */
import type { Command } from "commander";
import { errorMessage } from "../core/mod.ts";
import { metrics } from "./metrics_registry.ts";
import { annotateJpeg } from "../inference/mod.ts";
import { loadModel } from "../inference/mod.ts";
import { loadPipelineModels } from "../pipeline/mod.ts";
import { decodeRgb, imageSize } from "../inference/mod.ts";
import type { BackendChoice, Model } from "../inference/mod.ts";
import { openArchive } from "../mpta/mod.ts";
import type { PipelineArchive } from "../mpta/mod.ts";
import { FrameRunner } from "../pipeline/mod.ts";
import type { PlannedWrite } from "../pipeline/mod.ts";
import { annotateFrame } from "../replay/mod.ts";
import { branchesLine } from "../replay/mod.ts";
import { commandSettings } from "../config/mod.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";

export interface DetectCliOptions {
  mpta?: string;
  model?: string;
  minConfidence?: number;
  iou?: number;
  classes?: string;
  backend: BackendChoice;
  threads?: number;
  cuda?: boolean;
  annotate?: string;
}

async function readImage(path: string): Promise<{ jpeg: Uint8Array }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new Error(`cannot read image ${path}: ${errorMessage(err)}`);
  }
  try {
    await imageSize({ jpeg: bytes });
  } catch (err) {
    throw new Error(`${path}: ${errorMessage(err)}`);
  }
  return { jpeg: bytes };
}

/** Reported facts of the model that reads the whole image. */
function modelHead(model: Model) {
  return {
    task: model.task,
    backend: model.backend,
    ...(model.task === "detect" ? { layout: model.layout } : {}),
    input: [model.inputWidth, model.inputHeight],
  };
}

const ms = (t: number) => Math.round(performance.now() - t);

/**
 * Sessions for one image, which nothing else in the process waits on: one instance with every
 * thread, threads that spin while a run lasts (sleeping threads wake for every layer).
 */
export const ONE_IMAGE = { instances: 1, spinning: "runs" } as const;

export async function runDetect(imagePath: string, opts: DetectCliOptions): Promise<unknown> {
  if (!!opts.mpta === !!opts.model) {
    throw new Error("give exactly one of --mpta FILE or --model FILE.onnx");
  }
  const image = await readImage(imagePath);
  const { width, height } = await imageSize(image);
  const classes = opts.classes?.split(",").map((s) => s.trim()).filter(Boolean);
  const head = { image: imagePath, width, height };
  return opts.mpta
    ? await detectPipeline(opts.mpta, image, head, classes, opts)
    : await detectModel(opts.model!, image, head, classes, opts);
}

/**
 * The archive's pipeline on the image, run by the same runner as `run` and `replay` (crops by
 * `cropClass`, parallel and nested branches, pre-validation), writes planned but not done.
 */
async function detectPipeline(
  path: string,
  image: { jpeg: Uint8Array },
  head: { image: string; width: number; height: number },
  classes: string[] | undefined,
  opts: DetectCliOptions,
): Promise<unknown> {
  const t0 = performance.now();
  const archive = await openArchive(path);
  const root = archive.spec.pipeline;
  const tuned: PipelineArchive = {
    ...archive,
    spec: {
      ...archive.spec,
      pipeline: {
        ...root,
        minConfidence: opts.minConfidence ?? root.minConfidence,
        ...(opts.iou !== undefined ? { iou: opts.iou } : {}),
        ...(classes ? { triggerClasses: classes } : {}),
      },
    },
  };
  let models = new Map<string, Model>();
  const writes: PlannedWrite[] = [];
  const runner = await FrameRunner.create(tuned, {
    backend: opts.backend,
    threads: opts.threads,
    spoolDir: "", // a dry run neither connects nor spools
    dryRun: true,
    onPlannedWrite: (w) => writes.push(w),
    tracking: "per-frame",
    sessionCooldownMs: 0,
    metrics,
    loadModels: async (a, load) =>
      models = await loadPipelineModels(a, { ...load, ...ONE_IMAGE, cuda: opts.cuda }),
  });
  try {
    const model = models.get(root.modelId)!;
    const loadMs = ms(t0);
    const t1 = performance.now();
    const about = { ...head, mpta: path, modelId: root.modelId, ...modelHead(model) };
    if (model.task === "classify") {
      const classification = await model.classify(image);
      return { ...about, classification, timings: { loadMs, runMs: ms(t1) } };
    }
    const result = await runner.run(
      { jpeg: image.jpeg, width: head.width, height: head.height, at: Date.now() },
      { cameraId: "detect", displayId: "detect" },
    );
    const runMs = ms(t1);
    if (opts.annotate) {
      await Deno.writeFile(opts.annotate, await annotateFrame(await decodeRgb(image), result));
    }
    return {
      ...about,
      minConfidence: tuned.spec.pipeline.minConfidence,
      detections: result.detections ?? [],
      branches: branchesLine(result.branchResults),
      ...(result.skipped ? { skipped: result.skipped } : {}),
      ...(writes.length ? { writes } : {}),
      ...(opts.annotate ? { annotated: opts.annotate } : {}),
      timings: { loadMs, runMs },
    };
  } finally {
    await runner.close();
  }
}

/** One bare ONNX model on the image. */
async function detectModel(
  path: string,
  image: { jpeg: Uint8Array },
  head: { image: string; width: number; height: number },
  classes: string[] | undefined,
  opts: DetectCliOptions,
): Promise<unknown> {
  const t0 = performance.now();
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new Error(`cannot read model ${path}: ${errorMessage(err)}`);
  }
  let model: Model;
  try {
    model = await loadModel(bytes, {
      ...ONE_IMAGE,
      backend: opts.backend,
      threads: opts.threads,
      cuda: opts.cuda,
      allowGenericNames: true,
    });
  } catch (err) {
    throw new Error(`${path}: ${errorMessage(err)}`);
  }
  try {
    const loadMs = ms(t0);
    const t1 = performance.now();
    const about = { ...head, model: path, ...modelHead(model) };
    if (model.task === "classify") {
      const classification = await model.classify(image);
      return { ...about, classification, timings: { loadMs, runMs: ms(t1) } };
    }
    const minConfidence = opts.minConfidence ?? 0.25;
    const detections = await model.detect(image, { minConfidence, iou: opts.iou, classes });
    const runMs = ms(t1);
    if (opts.annotate) await Deno.writeFile(opts.annotate, await annotateJpeg(image, detections));
    return {
      ...about,
      minConfidence,
      detections,
      ...(opts.annotate ? { annotated: opts.annotate } : {}),
      timings: { loadMs, runMs },
    };
  } finally {
    await model.dispose();
  }
}

const detectSettings = commandSettings(["minConfidence", "iou", "backend", "threads"]);

export function registerDetect(program: Command): void {
  const detect = program.command("detect")
    .description(
      "Run one image through a model or a pipeline archive; print the detections as JSON",
    )
    .argument("<image>", "JPEG (or PNG) file")
    .option(
      "--mpta <file>",
      "pipeline archive: the whole pipeline as run/replay execute it (writes only planned)",
    )
    .option("--model <file>", "a single ONNX model (detection or classification)")
    .option(
      "--classes <names>",
      "comma-separated class names to keep (default: the node's triggerClasses, or all)",
    )
    .option("--cuda", "use the CUDA execution provider when available (native backend)")
    .option("--annotate <out.jpg>", "also write the image with the boxes drawn on it");
  addSettingOptions(detect, detectSettings)
    .addHelpText(
      "after",
      `
Examples:
  detector detect frame.jpg --mpta pipelines/car_frontal_full.mpta
  detector mpta extract pipelines/car_frontal_full.mpta -o car
  detector detect frame.jpg --model car/car_frontal_detection_v1.onnx --annotate boxes.jpg
  detector detect frame.jpg --model yolov8n.onnx --backend native --threads 2`,
    )
    .action(async (image: string, opts: DetectCliOptions, cmd: Command) => {
      const { values: v } = resolveCommand(cmd, detectSettings);
      const result = await runDetect(image, { ...opts, ...v });
      console.log(JSON.stringify(result, null, 2));
    });
}
