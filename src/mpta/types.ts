/** The typed form of a validated `pipeline.json` (see docs/mpta.md). Defaults are already applied. */

export interface RedisConfig {
  host: string;
  port: number;
  password?: string;
  db: number;
}

export interface PostgresConfig {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

export interface RedisSaveImageAction {
  type: "redis_save_image";
  key: string;
  region?: string;
  format: "jpeg" | "png";
  quality: number;
  expire_seconds?: number;
}

export interface RedisPublishAction {
  type: "redis_publish";
  channel: string;
  message: string;
}

export interface PostgresUpdateCombinedAction {
  type: "postgresql_update_combined";
  table: string;
  key_field: string;
  key_value: string;
  waitForBranches: string[];
  fields: Record<string, string>;
}

export type Action = RedisSaveImageAction | RedisPublishAction | PostgresUpdateCombinedAction;

export interface PipelineNode {
  modelId: string;
  modelFile: string;
  minConfidence: number;
  triggerClasses: string[];
  crop: boolean;
  cropClass?: string;
  resizeTarget: [number, number];
  multiClass: boolean;
  expectedClasses: string[];
  parallel: boolean;
  branches: PipelineNode[];
  actions: Action[];
  parallelActions: Action[];
  /** Optional class list for models without ONNX `names` metadata. */
  classes?: string[];
  /** NMS IoU threshold, default 0.45. */
  iou: number;
  /** Name of the classification result field (`brand`, `body_type`…); derived from modelId when absent. */
  resultField?: string;
}

export interface PipelineSpec {
  pipeline: PipelineNode;
  redis?: RedisConfig;
  postgresql?: PostgresConfig;
}

/** An opened, validated archive: the spec plus model bytes by path inside the archive. */
export interface PipelineArchive {
  spec: PipelineSpec;
  /** sha256 hex of the archive bytes. */
  hash: string;
  /** Reads a file of the archive by the path `pipeline.json` uses (`modelFile`). */
  file(path: string): Uint8Array | undefined;
  /** Where the archive was extracted on disk (model files by `modelFile` below it). */
  dir?: string;
  /** What validation read from each node's model file, by `modelId` (when models were checked). */
  models?: Record<string, ModelSummary>;
  /** Every file path of the archive, relative to the folder holding `pipeline.json`. */
  paths?: string[];
}

/** One node's model as read from the ONNX file (metadata and shapes, without running it). */
export interface ModelSummary {
  modelId: string;
  modelFile: string;
  task: "detect" | "classify";
  /** Detection output layout chosen from the output shape. */
  layout?: "yolov8" | "yolov5" | "end2end";
  inputShape: (number | string)[];
  outputShape: (number | string)[];
  classNames: string[];
  /** Where the class names came from: ONNX metadata `names` or the node's `classes`. */
  classNamesFrom: "metadata" | "node";
}

/** One validation problem, with the JSON path of the offending value. */
export interface ValidationError {
  path: string;
  message: string;
}
