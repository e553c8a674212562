/**
 * Reads an untrusted `pipeline.json` value into a typed `PipelineSpec` (defaults applied),
 * collecting every structural and type problem with its JSON path (docs/mpta.md "pipeline.json").
 */
import { Checker, type Json, shown } from "./checker.ts";
import type {
  Action,
  PipelineNode,
  PipelineSpec,
  PostgresConfig,
  RedisConfig,
  ValidationError,
} from "./types.ts";

export const NODE_KEYS = [
  "modelId",
  "modelFile",
  "minConfidence",
  "triggerClasses",
  "crop",
  "cropClass",
  "resizeTarget",
  "multiClass",
  "expectedClasses",
  "parallel",
  "branches",
  "actions",
  "parallelActions",
  "classes",
  "iou",
  "resultField",
] as const;

const ACTION_KEYS: Record<Action["type"], readonly string[]> = {
  redis_save_image: ["type", "key", "region", "format", "quality", "expire_seconds"],
  redis_publish: ["type", "channel", "message"],
  postgresql_update_combined: [
    "type",
    "table",
    "key_field",
    "key_value",
    "waitForBranches",
    "fields",
  ],
};

/** A table name: `name` or `schema.name`, plain identifiers only. */
export const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
export const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_DEPTH = 16;

export interface ParsedSpec {
  /** Present when there are no errors. */
  spec?: PipelineSpec;
  /** The tree as far as it could be read (missing required values empty), for cross-checks. */
  partial?: PipelineSpec;
  errors: ValidationError[];
  warnings: ValidationError[];
  /** JSON path of every node (`pipeline`, `pipeline.branches[0]`…). */
  nodePaths: Map<PipelineNode, string>;
}

function parseRedis(c: Checker, v: unknown): RedisConfig | undefined {
  const o = c.object(v, "redis");
  if (!o) return undefined;
  c.unknownKeys(o, "redis", ["host", "port", "password", "db"]);
  const host = c.string(o, "host", "redis", true);
  const port = c.number(o, "port", "redis", { required: true, integer: true, min: 1, max: 65535 });
  const password = c.string(o, "password", "redis");
  const db = c.number(o, "db", "redis", { integer: true, min: 0 }) ?? 0;
  if (host === undefined || port === undefined) return undefined;
  return { host, port, db, ...(password !== undefined ? { password } : {}) };
}

function parsePostgres(c: Checker, v: unknown): PostgresConfig | undefined {
  const o = c.object(v, "postgresql");
  if (!o) return undefined;
  c.unknownKeys(o, "postgresql", ["host", "port", "database", "username", "password"]);
  const host = c.string(o, "host", "postgresql", true);
  const port = c.number(o, "port", "postgresql", {
    required: true,
    integer: true,
    min: 1,
    max: 65535,
  });
  const database = c.string(o, "database", "postgresql", true);
  const username = c.string(o, "username", "postgresql", true);
  const password = c.string(o, "password", "postgresql");
  if (o.password === undefined) c.error("postgresql.password", "is required");
  if (!host || !port || !database || !username || password === undefined) return undefined;
  return { host, port, database, username, password };
}

function parseAction(c: Checker, v: unknown, path: string): Action | undefined {
  const o = c.object(v, path);
  if (!o) return undefined;
  const type = o.type;
  if (type === undefined) {
    c.error(
      `${path}.type`,
      "is required (redis_save_image, redis_publish or postgresql_update_combined)",
    );
    return undefined;
  }
  if (typeof type !== "string" || !(type in ACTION_KEYS)) {
    c.error(
      `${path}.type`,
      `unknown action type ${
        shown(type)
      }: expected redis_save_image, redis_publish or postgresql_update_combined`,
    );
    return undefined;
  }
  c.unknownKeys(o, path, ACTION_KEYS[type as Action["type"]]);
  if (type === "redis_save_image") {
    const key = c.string(o, "key", path, true);
    const region = c.string(o, "region", path);
    const format = o.format ?? "jpeg";
    if (format !== "jpeg" && format !== "png") {
      c.error(`${path}.format`, `must be "jpeg" or "png", got ${shown(format)}`);
    }
    const quality = c.number(o, "quality", path, { integer: true, min: 1, max: 100 }) ?? 90;
    const expire = c.number(o, "expire_seconds", path, { integer: true, min: 1 });
    if (key === undefined) return undefined;
    return {
      type,
      key,
      format: format === "png" ? "png" : "jpeg",
      quality,
      ...(region !== undefined ? { region } : {}),
      ...(expire !== undefined ? { expire_seconds: expire } : {}),
    };
  }
  if (type === "redis_publish") {
    const channel = c.string(o, "channel", path, true);
    const message = c.string(o, "message", path, true);
    if (channel === undefined || message === undefined) return undefined;
    return { type, channel, message };
  }
  const table = c.string(o, "table", path, true);
  if (table !== undefined && !TABLE_NAME.test(table)) {
    c.error(
      `${path}.table`,
      `must be a plain identifier or schema.table, got ${shown(table)}`,
    );
  }
  const keyField = c.string(o, "key_field", path, true);
  if (keyField !== undefined && !COLUMN_NAME.test(keyField)) {
    c.error(`${path}.key_field`, `must be a plain column name, got ${shown(keyField)}`);
  }
  const keyValue = c.string(o, "key_value", path, true);
  const wait = c.stringArray(o, "waitForBranches", path, { required: true });
  let fields: Record<string, string> | undefined;
  if (o.fields === undefined) c.error(`${path}.fields`, "is required");
  else {
    const f = c.object(o.fields, `${path}.fields`);
    if (f) {
      fields = {};
      for (const [col, tmpl] of Object.entries(f)) {
        if (!COLUMN_NAME.test(col)) {
          c.error(`${path}.fields.${col}`, "column name must be a plain identifier");
        } else if (typeof tmpl !== "string") {
          c.error(`${path}.fields.${col}`, "must be a template string");
        } else fields[col] = tmpl;
      }
      if (Object.keys(f).length === 0) c.error(`${path}.fields`, "must map at least one column");
    }
  }
  if (!table || !keyField || keyValue === undefined || !wait || !fields) return undefined;
  return {
    type: "postgresql_update_combined",
    table,
    key_field: keyField,
    key_value: keyValue,
    waitForBranches: wait,
    fields,
  };
}

function parseNode(
  c: Checker,
  v: unknown,
  path: string,
  depth: number,
  paths: Map<PipelineNode, string>,
): PipelineNode | undefined {
  const o = c.object(v, path);
  if (!o) return undefined;
  if (depth > MAX_DEPTH) {
    c.error(path, `branches nest deeper than ${MAX_DEPTH} levels`);
    return undefined;
  }
  c.unknownKeys(o, path, NODE_KEYS);
  const modelId = c.string(o, "modelId", path, true);
  const modelFile = c.string(o, "modelFile", path, true);
  const minConfidence = c.number(o, "minConfidence", path, { required: true, min: 0, max: 1 });
  const triggerClasses = c.stringArray(o, "triggerClasses", path, {
    required: true,
    nonEmpty: true,
  });
  const crop = c.boolean(o, "crop", path, false);
  const cropClass = c.string(o, "cropClass", path, o.cropClass !== undefined);
  let resizeTarget: [number, number] = [224, 224];
  if (o.resizeTarget !== undefined) {
    const r = o.resizeTarget;
    if (
      !Array.isArray(r) || r.length !== 2 ||
      !r.every((n) => typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 4096)
    ) {
      c.error(
        `${path}.resizeTarget`,
        `must be [width, height] with integers 1..4096, got ${shown(r)}`,
      );
    } else resizeTarget = [r[0], r[1]];
  }
  const multiClass = c.boolean(o, "multiClass", path, false);
  const expectedClasses = c.stringArray(o, "expectedClasses", path) ?? [];
  if (expectedClasses.length && !multiClass) {
    c.warn(`${path}.expectedClasses`, "has no effect without multiClass: true");
  }
  if (cropClass !== undefined && !crop) {
    c.warn(`${path}.cropClass`, "has no effect without crop: true");
  }
  const parallel = c.boolean(o, "parallel", path, false);
  const classes = c.stringArray(o, "classes", path);
  if (classes) {
    const dup = classes.find((n, i) => classes.indexOf(n) !== i);
    if (dup) c.error(`${path}.classes`, `class "${dup}" appears twice`);
  }
  const iou = c.number(o, "iou", path, { min: 0, max: 1 }) ?? 0.45;
  const resultField = c.string(o, "resultField", path);
  if (resultField !== undefined && !COLUMN_NAME.test(resultField)) {
    c.error(`${path}.resultField`, "must be a plain identifier (letters, digits, _)");
  }
  const branches = c.array(o, "branches", path).map((b, i) =>
    parseNode(c, b, `${path}.branches[${i}]`, depth + 1, paths)
  );
  const actions = c.array(o, "actions", path).map((a, i) =>
    parseAction(c, a, `${path}.actions[${i}]`)
  );
  const parallelActions = c.array(o, "parallelActions", path).map((a, i) =>
    parseAction(c, a, `${path}.parallelActions[${i}]`)
  );
  // missing required values become empty ones so the cross-checks still see the rest of the tree
  const node: PipelineNode = {
    modelId: modelId ?? "",
    modelFile: modelFile ?? "",
    minConfidence: minConfidence ?? 0,
    triggerClasses: triggerClasses ?? [],
    crop,
    resizeTarget,
    multiClass,
    expectedClasses,
    parallel,
    branches: branches.filter((b): b is PipelineNode => !!b),
    actions: actions.filter((a): a is Action => !!a),
    parallelActions: parallelActions.filter((a): a is Action => !!a),
    iou,
  };
  if (crop) node.cropClass = cropClass ?? triggerClasses?.[0];
  else if (cropClass !== undefined) node.cropClass = cropClass;
  if (classes) node.classes = classes;
  if (resultField !== undefined) node.resultField = resultField;
  paths.set(node, path);
  return node;
}

/** Reads the parsed JSON value of `pipeline.json`. */
export function parsePipelineSpec(value: unknown): ParsedSpec {
  const c = new Checker();
  const nodePaths = new Map<PipelineNode, string>();
  const top = c.object(value, "(top level)");
  if (!top) return { errors: c.errors, warnings: c.warnings, nodePaths };
  c.unknownKeys(top, "(top level)", ["pipeline", "redis", "postgresql"]);
  let pipeline: PipelineNode | undefined;
  if (top.pipeline === undefined) c.error("pipeline", "is required (the root node)");
  else pipeline = parseNode(c, top.pipeline, "pipeline", 0, nodePaths);
  const redis = top.redis === undefined ? undefined : parseRedis(c, top.redis);
  const postgresql = top.postgresql === undefined ? undefined : parsePostgres(c, top.postgresql);
  if (!pipeline) return { errors: c.errors, warnings: c.warnings, nodePaths };
  const partial: PipelineSpec = { pipeline };
  if (redis) partial.redis = redis;
  if (postgresql) partial.postgresql = postgresql;
  return {
    spec: c.errors.length ? undefined : partial,
    partial,
    errors: c.errors,
    warnings: c.warnings,
    nodePaths,
  };
}

export type { Json };
