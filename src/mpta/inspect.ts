/** A readable summary of a validated archive: the node tree with models, triggers and actions. */
import { resultFieldFor } from "./placeholders.ts";
import type { Action, ModelSummary, PipelineArchive, PipelineNode } from "./types.ts";

export interface NodeSummary {
  modelId: string;
  modelFile: string;
  model?: ModelSummary;
  minConfidence: number;
  triggerClasses: string[];
  crop: boolean;
  cropClass?: string;
  resizeTarget: [number, number];
  multiClass: boolean;
  expectedClasses: string[];
  parallel: boolean;
  iou: number;
  resultField?: string;
  actions: Action[];
  parallelActions: Action[];
  branches: NodeSummary[];
}

export interface ArchiveSummary {
  hash: string;
  files: string[];
  redis?: { host: string; port: number; db: number; password?: string };
  postgresql?: { host: string; port: number; database: string; username: string; password: string };
  pipeline: NodeSummary;
}

const hidden = "***";

/** The archive as plain data, passwords replaced by `***`. */
export function summariseArchive(archive: PipelineArchive): ArchiveSummary {
  const node = (n: PipelineNode, isRoot: boolean): NodeSummary => {
    const model = archive.models?.[n.modelId];
    return {
      modelId: n.modelId,
      modelFile: n.modelFile,
      ...(model ? { model } : {}),
      minConfidence: n.minConfidence,
      triggerClasses: n.triggerClasses,
      crop: n.crop,
      ...(n.cropClass !== undefined ? { cropClass: n.cropClass } : {}),
      resizeTarget: n.resizeTarget,
      multiClass: n.multiClass,
      expectedClasses: n.expectedClasses,
      parallel: n.parallel,
      iou: n.iou,
      ...(!isRoot && model?.task === "classify" ? { resultField: resultFieldFor(n) } : {}),
      actions: n.actions,
      parallelActions: n.parallelActions,
      branches: n.branches.map((b) => node(b, false)),
    };
  };
  const { redis, postgresql } = archive.spec;
  return {
    hash: archive.hash,
    files: archive.paths ?? [],
    ...(redis
      ? { redis: { ...redis, ...(redis.password !== undefined ? { password: hidden } : {}) } }
      : {}),
    ...(postgresql ? { postgresql: { ...postgresql, password: hidden } } : {}),
    pipeline: node(archive.spec.pipeline, true),
  };
}

const shape = (s: (number | string)[]) => `[${s.join(",")}]`;

function describeAction(a: Action): string {
  switch (a.type) {
    case "redis_save_image":
      return `redis_save_image key=${a.key}${a.region ? ` region=${a.region}` : ""} ${a.format}` +
        `${a.format === "jpeg" ? ` q${a.quality}` : ""}` +
        `${a.expire_seconds ? ` expire=${a.expire_seconds}s` : ""}`;
    case "redis_publish":
      return `redis_publish channel=${a.channel} message=${a.message}`;
    case "postgresql_update_combined":
      return `postgresql_update_combined table=${a.table} ${a.key_field}=${a.key_value} ` +
        `after ${a.waitForBranches.join(", ")}; fields ` +
        Object.entries(a.fields).map(([k, v]) => `${k}=${v}`).join(", ");
  }
}

/** The summary as an indented tree for terminals. */
export function renderTree(name: string, s: ArchiveSummary): string {
  const lines: string[] = [`${name}  sha256:${s.hash.slice(0, 16)}  files: ${s.files.join(", ")}`];
  if (s.redis) {
    lines.push(
      `redis: ${s.redis.host}:${s.redis.port} db ${s.redis.db}${
        s.redis.password ? " (password set)" : ""
      }`,
    );
  }
  if (s.postgresql) {
    const p = s.postgresql;
    lines.push(`postgresql: ${p.username}@${p.host}:${p.port}/${p.database} (password set)`);
  }
  const walk = (n: NodeSummary, prefix: string, last: boolean, isRoot: boolean) => {
    const head = isRoot ? "" : `${prefix}${last ? "└─ " : "├─ "}`;
    const body = isRoot ? "" : `${prefix}${last ? "   " : "│  "}`;
    const m = n.model;
    lines.push(
      `${head}${n.modelId}  ${
        m ? `${m.task}${m.layout ? ` ${m.layout}` : ""}` : "?"
      }  ${n.modelFile}` +
        (m ? `  input ${shape(m.inputShape)} → output ${shape(m.outputShape)}` : ""),
    );
    if (m) {
      lines.push(
        `${body}  classes (${m.classNames.length}${
          m.classNamesFrom === "node" ? ", from node" : ""
        }): ` +
          m.classNames.slice(0, 30).join(", ") + (m.classNames.length > 30 ? ", …" : ""),
      );
    }
    const trig = [
      `${isRoot ? "classes of interest" : "triggered by"}: ${n.triggerClasses.join(", ")}`,
      `minConfidence ${n.minConfidence}`,
      ...(m?.task === "detect" ? [`iou ${n.iou}`] : []),
      ...(n.multiClass
        ? [`multiClass${n.expectedClasses.length ? ` expects ${n.expectedClasses.join("+")}` : ""}`]
        : []),
      ...(n.crop ? [`crop ${n.cropClass} → ${n.resizeTarget.join("×")}`] : []),
      ...(n.parallel ? ["parallel"] : []),
      ...(n.resultField ? [`field ${n.resultField}`] : []),
    ];
    lines.push(`${body}  ${trig.join("  ")}`);
    n.actions.forEach((a, i) => lines.push(`${body}  action ${i + 1}: ${describeAction(a)}`));
    n.branches.forEach((b, i) => walk(b, body, i === n.branches.length - 1, false));
    n.parallelActions.forEach((a, i) =>
      lines.push(`${body}  parallel action ${i + 1}: ${describeAction(a)}`)
    );
  };
  walk(s.pipeline, "", true, true);
  return lines.join("\n");
}
