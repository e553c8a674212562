/** Turns ONNX bytes into a ready `Model` (detection or classification) on the chosen backend. */
import type { BackendSession } from "./backend.ts";
import { createSession } from "./backends.ts";
import { decodeClassification, decodeDetections } from "./decode.ts";
import { describeModel, type Layout, type ModelDescription } from "./model_description.ts";
import { readOnnxInfo } from "./onnx_info.ts";
import { letterbox, resizeForClassify } from "./preprocess.ts";
import type {
  BackendName,
  Classification,
  ClassificationModel,
  Detection,
  DetectionModel,
  DetectOptions,
  ImageInput,
  LoadOptions,
  Model,
  PreparedImage,
} from "./types.ts";

/** Input tensors kept for reuse per model (frames prepared ahead each hold one meanwhile). */
const MAX_SPARE_TENSORS = 4;

class BaseModel {
  readonly classNames: string[];
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly backend: BackendName;
  readonly parallelRuns: number;
  /** What was read from the ONNX file. */
  readonly description: ModelDescription;
  protected session: BackendSession;

  constructor(desc: ModelDescription, session: BackendSession) {
    this.description = desc;
    this.classNames = desc.classNames;
    this.inputWidth = desc.inputWidth;
    this.inputHeight = desc.inputHeight;
    this.backend = session.backend;
    this.parallelRuns = session.parallelRuns ?? 1;
    this.session = session;
  }

  /** Input tensors handed back by finished runs, for the next inputs. */
  protected spare: Float32Array[] = [];

  protected async runTensor(tensor: Float32Array) {
    const d = this.description;
    const input = { data: tensor, dims: [1, 3, d.inputHeight, d.inputWidth] };
    const outputs = await this.session.run({ [d.inputName]: input });
    const size = 3 * d.inputHeight * d.inputWidth;
    if (input.data.length === size && this.spare.length < MAX_SPARE_TENSORS) {
      this.spare.push(input.data);
    }
    const out = outputs[d.outputName];
    if (!out) throw new Error(`model produced no output "${d.outputName}"`);
    return out;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}

class OnnxDetectionModel extends BaseModel implements DetectionModel {
  readonly task = "detect" as const;
  readonly layout: Layout;

  constructor(desc: ModelDescription, session: BackendSession) {
    super(desc, session);
    this.layout = desc.layout!;
  }

  async prepare(image: ImageInput): Promise<PreparedImage> {
    const { tensor, box } = await letterbox(
      image,
      this.inputWidth,
      this.inputHeight,
      this.spare.pop(),
    );
    return { model: this, tensor, letterbox: box };
  }

  async detect(image: ImageInput, opts: DetectOptions): Promise<Detection[]> {
    return await this.detectPrepared(await this.prepare(image), opts);
  }

  async detectPrepared(p: PreparedImage, opts: DetectOptions): Promise<Detection[]> {
    if (p.model !== this) throw new Error("image was prepared for another model");
    const out = await this.runTensor(p.tensor);
    return decodeDetections(out, this.layout, this.classNames, p.letterbox, opts);
  }
}

class OnnxClassificationModel extends BaseModel implements ClassificationModel {
  readonly task = "classify" as const;

  async classify(image: ImageInput): Promise<Classification> {
    const tensor = await resizeForClassify(
      image,
      this.inputWidth,
      this.inputHeight,
      this.spare.pop(),
    );
    return decodeClassification(await this.runTensor(tensor), this.classNames);
  }
}

export interface ModelLoadOptions extends LoadOptions {
  /** Invent `class0…` names when the model has none (single-model use such as `detect --model`). */
  allowGenericNames?: boolean;
}

/**
 * Loads a model: reads its metadata (task, class names, input size), picks the output layout from
 * the output shape, creates a session on the backend (`auto`: native, else wasm with one log line).
 * Throws with a message naming the problem (corrupt file, unknown layout, no class names).
 */
export async function loadModel(onnx: Uint8Array, opts: ModelLoadOptions = {}): Promise<Model> {
  const desc = describeModel(readOnnxInfo(onnx), {
    classNames: opts.classNames,
    allowGenericNames: opts.allowGenericNames,
  });
  const session = await createSession(onnx, opts.backend ?? "auto", {
    threads: opts.threads,
    instances: opts.instances,
    spinning: opts.spinning,
    budget: opts.budget,
    urgent: opts.urgent,
    cuda: opts.cuda,
    metrics: opts.metrics,
  });
  return desc.task === "detect"
    ? new OnnxDetectionModel(desc, session)
    : new OnnxClassificationModel(desc, session);
}
