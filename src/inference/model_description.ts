/**
 * What a model is, read from its ONNX file: task, class names, input size and (for detectors) the
 * output layout chosen from the output shape and checked against the class count (docs/mpta.md
 * "Models"). Shared by `loadModel` and archive validation.
 */
import { ClassNamesError, parseClassNames, parseImgsz } from "./class_names.ts";
import type { OnnxInfo } from "./onnx_info.ts";

export type Layout = "yolov8" | "yolov5" | "end2end";

export interface ModelDescription {
  task: "detect" | "classify";
  layout?: Layout;
  classNames: string[];
  classNamesFrom: "metadata" | "node" | "generic";
  inputName: string;
  outputName: string;
  inputShape: (number | string)[];
  outputShape: (number | string)[];
  inputWidth: number;
  inputHeight: number;
}

/** A model whose metadata or shapes do not fit what `detector` can run; the message says why. */
export class ModelFormatError extends Error {}

const fmtShape = (s: (number | string)[]) => `[${s.join(", ")}]`;

/** Picks the detection output layout from the output shape; throws `ModelFormatError` if none fits. */
export function chooseLayout(
  shape: (number | string)[],
  nc: number | undefined,
  end2endHint = false,
): { layout: Layout; nc: number } {
  const fail = (why: string): never => {
    const expect = nc
      ? `[1, ${4 + nc}, N] (YOLOv8), [1, N, ${5 + nc}] (YOLOv5) or [1, K, 6] (end-to-end)`
      : "[1, 4+nc, N] (YOLOv8), [1, N, 5+nc] (YOLOv5) or [1, K, 6] (end-to-end)";
    throw new ModelFormatError(
      `output shape ${fmtShape(shape)} fits no known detection layout${
        nc ? ` for ${nc} classes` : ""
      }: expected ${expect}${why ? ` (${why})` : ""}`,
    );
  };
  if (shape.length !== 3) fail(`rank ${shape.length}, expected 3`);
  const [, a, c] = shape;
  if (typeof c === "number" && c === 6 && (end2endHint || nc !== 1 || a === 300)) {
    return { layout: "end2end", nc: nc ?? 0 };
  }
  if (nc !== undefined) {
    if (a === 4 + nc) return { layout: "yolov8", nc };
    if (c === 5 + nc) return { layout: "yolov5", nc };
    const hints: string[] = [];
    const v8 = typeof a === "number" && a > 4 ? a - 4 : undefined;
    const v5 = typeof c === "number" && c > 5 ? c - 5 : undefined;
    const preferV8 = v8 !== undefined &&
      (v5 === undefined || typeof c !== "number" || c > (a as number));
    if (preferV8) hints.push(`looks like YOLOv8 with ${v8} classes, but the model names ${nc}`);
    else if (v5 !== undefined) {
      hints.push(`looks like YOLOv5 with ${v5} classes, but the model names ${nc}`);
    }
    return fail(hints.join("; "));
  }
  // no class names: infer the count from the shape (the longer axis holds the anchors)
  if (typeof a === "number" && a > 4 && (typeof c !== "number" || c > a || c <= 5)) {
    return { layout: "yolov8", nc: a - 4 };
  }
  if (typeof c === "number" && c > 5) return { layout: "yolov5", nc: c - 5 };
  return fail("");
}

/** Largest model input accepted (width × height), checked when an archive is validated. */
export const MAX_MODEL_INPUT_PIXELS = 4096 * 4096;

export interface DescribeOptions {
  /** Largest input width × height (default 4096²). */
  maxInputPixels?: number;
  /** Names to use when the metadata has none (a node's `classes`). */
  classNames?: string[];
  /** Invent `class0…` names when there are none at all (the `detect --model` case). */
  allowGenericNames?: boolean;
}

/** Reads task, names, sizes and layout; throws `ModelFormatError` with the reason. */
export function describeModel(info: OnnxInfo, opts: DescribeOptions = {}): ModelDescription {
  const input = info.inputs[0];
  const output = info.outputs[0];
  if (info.inputs.length !== 1) {
    throw new ModelFormatError(
      `model has ${info.inputs.length} inputs (${info.inputs.map((i) => i.name).join(", ")}); ` +
        "expected one image input",
    );
  }
  if (input.elemType !== 1) {
    throw new ModelFormatError(
      `input "${input.name}" is not float32 (ONNX type ${input.elemType})`,
    );
  }
  if (input.shape.length !== 4 || (typeof input.shape[1] === "number" && input.shape[1] !== 3)) {
    throw new ModelFormatError(
      `input "${input.name}" has shape ${fmtShape(input.shape)}; expected [1, 3, H, W]`,
    );
  }
  let classNames: string[] | undefined;
  let classNamesFrom: ModelDescription["classNamesFrom"] = "metadata";
  if (info.metadata.names !== undefined) {
    try {
      classNames = parseClassNames(info.metadata.names);
    } catch (err) {
      if (!(err instanceof ClassNamesError)) throw err;
      throw new ModelFormatError(`metadata "names" is malformed: ${err.message}`);
    }
  }
  if (!classNames?.length && opts.classNames?.length) {
    classNames = opts.classNames;
    classNamesFrom = "node";
  }
  const rank = output.shape.length;
  const metaTask = info.metadata.task;
  let task: "detect" | "classify";
  if (metaTask === "detect" || metaTask === "classify") task = metaTask;
  else if (metaTask) {
    throw new ModelFormatError(
      `task "${metaTask}" is not supported (only detect and classify models)`,
    );
  } else if (rank === 2) task = "classify";
  else if (rank === 3) task = "detect";
  else {
    throw new ModelFormatError(
      `output shape ${fmtShape(output.shape)} is neither a detection nor a classification output`,
    );
  }
  const imgsz = parseImgsz(info.metadata.imgsz);
  const dimOr = (d: number | string | undefined, fallback: number) =>
    typeof d === "number" && d > 0 ? d : fallback;
  const fallback = task === "classify" ? 224 : 640;
  const inputWidth = dimOr(input.shape[3], imgsz?.[0] ?? fallback);
  const inputHeight = dimOr(input.shape[2], imgsz?.[1] ?? fallback);
  const maxPixels = opts.maxInputPixels ?? MAX_MODEL_INPUT_PIXELS;
  if (inputWidth * inputHeight > maxPixels) {
    throw new ModelFormatError(
      `input of ${inputWidth}x${inputHeight} pixels is more than the limit of ${maxPixels} ` +
        `(${Math.floor(Math.sqrt(maxPixels))}²); one frame would need ` +
        `${Math.round(inputWidth * inputHeight * 3 * 4 / 1024 ** 2)} MiB for the input alone`,
    );
  }
  let layout: Layout | undefined;
  let nc = classNames?.length;
  if (task === "detect") {
    const chosen = chooseLayout(output.shape, nc, info.metadata.end2end === "True");
    layout = chosen.layout;
    nc = nc ?? chosen.nc;
  } else {
    if (rank !== 2) {
      throw new ModelFormatError(
        `classification output shape ${fmtShape(output.shape)}; expected [1, nc]`,
      );
    }
    const out = output.shape[1];
    if (typeof out === "number" && nc !== undefined && out !== nc) {
      throw new ModelFormatError(
        `classification output has ${out} classes but the model names ${nc}`,
      );
    }
    if (nc === undefined && typeof out === "number") nc = out;
  }
  if (!classNames?.length) {
    if (!opts.allowGenericNames || !nc) {
      throw new ModelFormatError(
        'no class names: the ONNX metadata has no "names" and none were given (node "classes")',
      );
    }
    classNames = Array.from({ length: nc }, (_, i) => `class${i}`);
    classNamesFrom = "generic";
  }
  return {
    task,
    layout,
    classNames,
    classNamesFrom,
    inputName: input.name,
    outputName: output.name,
    inputShape: input.shape,
    outputShape: output.shape,
    inputWidth,
    inputHeight,
  };
}
