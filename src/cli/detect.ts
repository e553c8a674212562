/**
 * `detector detect IMAGE --mpta FILE | --model FILE.onnx`: runs one image through a model (or an
 * archive's root model and its classification branches) and prints the result as JSON.
 */
import type { Command } from "commander";
import { errorMessage } from "../core/log.ts";
import { annotateJpeg, type Annotation } from "../inference/annotate.ts";
import { loadModel } from "../inference/load_model.ts";
import { disposeModels, loadPipelineModels } from "../pipeline/models.ts";
import { decodeRgb, imageSize } from "../inference/preprocess.ts";
import type { BackendChoice, Detection, ImageInput, Model } from "../inference/types.ts";
import { openArchive } from "../mpta/archive.ts";
import { resultFieldFor } from "../mpta/placeholders.ts";
import type { PipelineNode } from "../mpta/types.ts";
import { commandSettings } from "../config/mod.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";
import sharp from "sharp";

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

interface BranchOutput {
  class: string;
  classId: number;
  confidence: number;
  field?: string;
  detections?: DetectionOutput[];
}

interface DetectionOutput extends Detection {
  branches?: Record<string, BranchOutput>;
}

async function readImage(path: string): Promise<ImageInput> {
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

/** Crops a box out of decoded pixels, resized to `size`. */
async function crop(
  frame: { rgb: Uint8Array; width: number; height: number },
  box: [number, number, number, number],
  size: [number, number],
): Promise<ImageInput> {
  const left = Math.max(0, Math.floor(box[0]));
  const top = Math.max(0, Math.floor(box[1]));
  const width = Math.max(1, Math.min(frame.width, Math.ceil(box[2])) - left);
  const height = Math.max(1, Math.min(frame.height, Math.ceil(box[3])) - top);
  const buf = await sharp(frame.rgb, {
    raw: { width: frame.width, height: frame.height, channels: 3 },
  }).extract({ left, top, width, height }).resize(size[0], size[1], { fit: "fill" }).raw()
    .toBuffer();
  return {
    rgb: new Uint8Array(buf.buffer, buf.byteOffset, buf.length),
    width: size[0],
    height: size[1],
  };
}

/** Runs a node's branches on one detection (crop → classify or detect), recursively. */
async function runBranches(
  node: PipelineNode,
  det: Detection,
  frame: { rgb: Uint8Array; width: number; height: number },
  models: Map<string, Model>,
): Promise<Record<string, BranchOutput> | undefined> {
  const out: Record<string, BranchOutput> = {};
  for (const b of node.branches) {
    if (!b.triggerClasses.includes(det.class) || det.confidence < b.minConfidence) continue;
    const model = models.get(b.modelId)!;
    const input = b.crop ? await crop(frame, det.box, b.resizeTarget) : frame;
    if (model.task === "classify") {
      const c = await model.classify(input);
      out[b.modelId] = { ...c, field: resultFieldFor(b) };
    } else {
      const dets = await model.detect(input, {
        minConfidence: b.minConfidence,
        iou: b.iou,
        classes: b.triggerClasses,
      });
      out[b.modelId] = {
        class: dets[0]?.class ?? "",
        classId: dets[0]?.classId ?? -1,
        confidence: dets[0]?.confidence ?? 0,
        detections: dets,
      };
    }
  }
  return Object.keys(out).length ? out : undefined;
}

export async function runDetect(imagePath: string, opts: DetectCliOptions): Promise<unknown> {
  if (!!opts.mpta === !!opts.model) {
    throw new Error("give exactly one of --mpta FILE or --model FILE.onnx");
  }
  const image = await readImage(imagePath);
  const { width, height } = await imageSize(image);
  const load = { backend: opts.backend, threads: opts.threads, cuda: opts.cuda };
  const classes = opts.classes?.split(",").map((s) => s.trim()).filter(Boolean);
  const t0 = performance.now();
  let models = new Map<string, Model>();
  let root: PipelineNode | undefined;
  try {
    let model: Model;
    if (opts.mpta) {
      const archive = await openArchive(opts.mpta);
      root = archive.spec.pipeline;
      models = await loadPipelineModels(archive, load);
      model = models.get(root.modelId)!;
    } else {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(opts.model!);
      } catch (err) {
        throw new Error(`cannot read model ${opts.model}: ${errorMessage(err)}`);
      }
      try {
        model = await loadModel(bytes, { ...load, allowGenericNames: true });
      } catch (err) {
        throw new Error(`${opts.model}: ${errorMessage(err)}`);
      }
      models.set("model", model);
    }
    const loadMs = performance.now() - t0;
    const t1 = performance.now();
    const head = {
      image: imagePath,
      width,
      height,
      ...(opts.mpta ? { mpta: opts.mpta, modelId: root!.modelId } : { model: opts.model }),
      task: model.task,
      backend: model.backend,
      ...(model.task === "detect" ? { layout: model.layout } : {}),
      input: [model.inputWidth, model.inputHeight],
    };
    if (model.task === "classify") {
      const c = await model.classify(image);
      return {
        ...head,
        classification: c,
        timings: { loadMs: Math.round(loadMs), runMs: Math.round(performance.now() - t1) },
      };
    }
    const minConfidence = opts.minConfidence ?? root?.minConfidence ?? 0.25;
    const detections: DetectionOutput[] = await model.detect(image, {
      minConfidence,
      iou: opts.iou ?? root?.iou,
      classes: classes ?? root?.triggerClasses,
    });
    if (root?.branches.length && detections.length) {
      const frame = await decodeRgb(image);
      for (const d of detections) {
        const branches = await runBranches(root, d, frame, models);
        if (branches) d.branches = branches;
      }
    }
    const runMs = Math.round(performance.now() - t1);
    if (opts.annotate) {
      const notes: Annotation[] = detections.map((d) => ({
        ...d,
        note: d.branches
          ? Object.values(d.branches).map((b) => b.class).filter(Boolean).join(" ")
          : undefined,
      }));
      await Deno.writeFile(opts.annotate, await annotateJpeg(image, notes));
    }
    return {
      ...head,
      minConfidence,
      detections,
      ...(opts.annotate ? { annotated: opts.annotate } : {}),
      timings: { loadMs: Math.round(loadMs), runMs },
    };
  } finally {
    await disposeModels(models);
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
      "pipeline archive: its root model, plus classification branches per detection",
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
  detector detect frame.jpg --model yolov8n.onnx --min-confidence 0.4 --annotate boxes.jpg
  detector detect frame.jpg --model yolov8n.onnx --backend native --threads 2`,
    )
    .action(async (image: string, opts: DetectCliOptions, cmd: Command) => {
      const { values: v } = resolveCommand(cmd, detectSettings);
      const result = await runDetect(image, { ...opts, ...v });
      console.log(JSON.stringify(result, null, 2));
    });
}
