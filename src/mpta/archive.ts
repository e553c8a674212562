/**
 * Opening and validating `.mpta` archives (docs/mpta.md). `validateArchive` collects every problem;
 * `openArchive` throws an `MptaError` carrying them all.
 */
import { errorMessage, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { createSession } from "../inference/mod.ts";
import { describeModel } from "../inference/mod.ts";
import { readOnnxInfo } from "../inference/mod.ts";
import { Checker } from "./checker.ts";
import { MptaError } from "./errors.ts";
import { JsonSyntaxError, parseJsonText } from "./json_text.ts";
import { type ArchiveLimits, resolveLimits } from "./limits.ts";
import { parsePipelineSpec } from "./schema.ts";
import {
  checkClassNames,
  checkSpecRules,
  type NodeModel,
  normaliseModelPath,
} from "./spec_rules.ts";
import type { ModelSummary, PipelineArchive, PipelineNode, ValidationError } from "./types.ts";
import { readCentralDirectory, readEntryAsync, type ZipEntry, ZipError } from "./zip_reader.ts";

const log = logger("mpta");

export interface OpenOptions {
  /** Caps checked from the central directory before inflating (defaults in limits.ts). */
  limits?: Partial<ArchiveLimits>;
  /**
   * Read every model file (ONNX metadata, shapes, output layout) and check the class names the
   * nodes use against it. Default true.
   */
  checkModels?: boolean;
  /** Also create an ONNX Runtime session for every model (slower; proves it loads). Default false. */
  loadModels?: boolean;
  /** Label for messages (file name); defaults to the path or "archive". */
  name?: string;
  /** Counts refused archives (where a long-running process shows them). */
  metrics?: Metrics;
}

export interface ValidationReport {
  /** Present when there are no errors. */
  archive?: PipelineArchive;
  errors: ValidationError[];
  /** Not fatal: unknown keys, settings without effect. */
  warnings: ValidationError[];
}

/** Path used for problems of the archive file itself (not of pipeline.json). */
export const ARCHIVE_PATH = "(archive)";
export const PIPELINE_JSON_PATH = "pipeline.json";

const isJunk = (name: string) =>
  name.startsWith("__MACOSX/") || name.split("/").pop() === ".DS_Store";

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readSource(
  source: string | Uint8Array,
  limits: ArchiveLimits,
  c: Checker,
): Promise<Uint8Array | undefined> {
  if (typeof source !== "string") return source;
  try {
    const st = await Deno.stat(source);
    if (!st.isFile) {
      c.error(ARCHIVE_PATH, `${source} is not a file`);
      return undefined;
    }
    if (st.size > limits.maxArchiveBytes) {
      c.error(
        ARCHIVE_PATH,
        `archive is ${st.size} bytes, more than the limit of ${limits.maxArchiveBytes}`,
      );
      return undefined;
    }
    return await Deno.readFile(source);
  } catch (err) {
    c.error(ARCHIVE_PATH, `cannot read ${source}: ${errorMessage(err)}`);
    return undefined;
  }
}

/** Finds the folder holding pipeline.json: "" (root) or "name/". */
function findBase(names: string[], c: Checker): string | undefined {
  const top = names.filter((n) => n === "pipeline.json" || /^[^/]+\/pipeline\.json$/.test(n));
  if (top.includes("pipeline.json")) return "";
  if (top.length === 1) return top[0].slice(0, -"pipeline.json".length);
  if (top.length > 1) {
    c.error(ARCHIVE_PATH, `pipeline.json appears in several folders (${top.join(", ")}); keep one`);
    return undefined;
  }
  const deep = names.filter((n) => n.endsWith("/pipeline.json"));
  c.error(
    ARCHIVE_PATH,
    deep.length
      ? `pipeline.json is too deep (${deep[0]}): it must be at the root or in one top-level folder`
      : "no pipeline.json in the archive",
  );
  return undefined;
}

/** Reads an archive from a path or bytes and validates it whole, collecting every problem. */
export async function validateArchive(
  source: string | Uint8Array,
  opts: OpenOptions = {},
): Promise<ValidationReport> {
  const limits = resolveLimits(opts.limits);
  const c = new Checker();
  const done = () => ({ errors: c.errors, warnings: c.warnings });
  const bytes = await readSource(source, limits, c);
  if (!bytes) return done();

  let entries;
  try {
    entries = readCentralDirectory(bytes, limits);
  } catch (err) {
    c.error(ARCHIVE_PATH, errorMessage(err));
    return done();
  }
  const fileEntries = entries.filter((e) => !e.isDirectory && !isJunk(e.name));
  const base = findBase(fileEntries.map((e) => e.name), c);
  if (base === undefined) return done();

  // Only pipeline.json and the model files it names are inflated: an unreferenced entry (a
  // 512 MiB block of zeros) costs nothing.
  const files = new Map<string, Uint8Array>();
  const entryByRel = new Map<string, ZipEntry>();
  const inflate = async (rel: string): Promise<void> => {
    const e = entryByRel.get(rel);
    if (!e || files.has(rel)) return;
    try {
      files.set(rel, await readEntryAsync(bytes, e));
    } catch (err) {
      c.error(
        `${ARCHIVE_PATH}/${e.name}`,
        err instanceof ZipError ? err.message : errorMessage(err),
      );
    }
  };
  for (const e of fileEntries) {
    if (!e.name.startsWith(base)) {
      c.warn(
        `${ARCHIVE_PATH}/${e.name}`,
        `outside the folder ${base} that holds pipeline.json (ignored)`,
      );
      continue;
    }
    const rel = e.name.slice(base.length);
    if (rel === "pipeline.json" && e.size > limits.maxPipelineJsonBytes) {
      c.error(
        PIPELINE_JSON_PATH,
        `is ${e.size} bytes, more than the limit of ${limits.maxPipelineJsonBytes}`,
      );
      return done();
    }
    entryByRel.set(rel, e);
  }
  await inflate("pipeline.json");
  const jsonBytes = files.get("pipeline.json");
  if (!jsonBytes) return done();
  let value: unknown;
  try {
    value = parseJsonText(new TextDecoder("utf-8", { fatal: true }).decode(jsonBytes));
  } catch (err) {
    c.error(
      PIPELINE_JSON_PATH,
      err instanceof JsonSyntaxError ? err.message : `is not UTF-8 text: ${errorMessage(err)}`,
    );
    return done();
  }
  const parsed = parsePipelineSpec(value);
  c.errors.push(...parsed.errors);
  c.warnings.push(...parsed.warnings);
  const tree = parsed.partial;
  if (!tree) return done();
  checkSpecRules(c, tree, parsed.nodePaths);

  const referenced = new Set<string>();
  const summaries: Record<string, ModelSummary> = {};
  const byNode = new Map<PipelineNode, NodeModel>();
  const walk = (n: PipelineNode, f: (n: PipelineNode) => void) => {
    f(n);
    n.branches.forEach((b) => walk(b, f));
  };
  walk(tree.pipeline, (node) => {
    if (node.modelFile) referenced.add(normaliseModelPath(node.modelFile));
  });
  for (const path of referenced) await inflate(path);
  for (const path of entryByRel.keys()) {
    if (/\.(pt|pth)$/i.test(path) && !referenced.has(path)) {
      c.error(
        `${ARCHIVE_PATH}/${base}${path}`,
        `PyTorch model in the archive; detector runs ONNX: \`yolo export model=${path} format=onnx\``,
      );
    }
  }
  if (opts.checkModels !== false) {
    const nodes: PipelineNode[] = [];
    walk(tree.pipeline, (n) => nodes.push(n));
    for (const node of nodes) {
      const path = `${parsed.nodePaths.get(node)}.modelFile`;
      const file = normaliseModelPath(node.modelFile);
      if (!file || !/\.onnx$/i.test(file)) continue; // already reported
      const data = files.get(file);
      if (!data) {
        if (entryByRel.has(file)) continue; // could not be inflated: already reported
        const onnx = [...entryByRel.keys()].filter((p) => /\.onnx$/i.test(p));
        c.error(
          path,
          `"${node.modelFile}" is not in the archive${
            onnx.length ? ` (models: ${onnx.join(", ")})` : ""
          }`,
        );
        continue;
      }
      try {
        const desc = describeModel(readOnnxInfo(data), { classNames: node.classes });
        if (desc.classNamesFrom === "metadata" && node.classes) {
          c.warn(
            `${parsed.nodePaths.get(node)}.classes`,
            "ignored: the model's metadata has names",
          );
        }
        byNode.set(node, { task: desc.task, classNames: desc.classNames });
        if (node.modelId) {
          summaries[node.modelId] = {
            modelId: node.modelId,
            modelFile: node.modelFile,
            task: desc.task,
            ...(desc.layout ? { layout: desc.layout } : {}),
            inputShape: desc.inputShape,
            outputShape: desc.outputShape,
            classNames: desc.classNames,
            classNamesFrom: desc.classNamesFrom === "node" ? "node" : "metadata",
          };
        }
        if (opts.loadModels) {
          const session = await createSession(data, "native", { threads: 1 });
          await session.dispose();
        }
      } catch (err) {
        c.error(path, `${node.modelFile}: ${errorMessage(err)}`);
      }
    }
    checkClassNames(c, tree, parsed.nodePaths, (n) => byNode.get(n));
  }
  if (c.errors.length || !parsed.spec) return done();
  const archive: PipelineArchive = {
    spec: parsed.spec,
    hash: await sha256Hex(bytes),
    file: (p: string) => files.get(normaliseModelPath(p)),
    paths: [...entryByRel.keys()].sort(),
  };
  if (opts.checkModels !== false) archive.models = summaries;
  return { archive, ...done() };
}

/** Like `validateArchive`, but throws an `MptaError` (with `errors`) when anything is wrong. */
export async function openArchive(
  source: string | Uint8Array,
  opts: OpenOptions = {},
): Promise<PipelineArchive> {
  const name = opts.name ?? (typeof source === "string" ? source : "archive");
  const report = await validateArchive(source, opts);
  if (!report.archive) {
    opts.metrics?.inc("detector_mpta_rejected_total", "Pipeline archives refused as invalid");
    log.warn("pipeline archive refused", {
      archive: name,
      problems: report.errors.length,
      first: report.errors[0] ? `${report.errors[0].path}: ${report.errors[0].message}` : "",
    });
    throw new MptaError(report.errors, name);
  }
  for (const w of report.warnings) log.debug("pipeline archive warning", { archive: name, ...w });
  return report.archive;
}
