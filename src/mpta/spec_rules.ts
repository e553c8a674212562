/**
 * Cross-checks of a parsed pipeline that look at more than one value: unique model ids, model file
 * names, `waitForBranches`, template placeholders, and class names against the models' classes.
 */
import type { Checker } from "./checker.ts";
import {
  BRANCH_RESULT_FIELDS,
  resultFieldFor,
  SIMPLE_PLACEHOLDERS,
  templatePlaceholders,
} from "./placeholders.ts";
import type { Action, PipelineNode, PipelineSpec } from "./types.ts";
import { unsafeEntryName } from "./zip_reader.ts";

/** The normalised archive path of a `modelFile` (`./a.onnx` → `a.onnx`). */
export function normaliseModelPath(p: string): string {
  return p.replace(/^(\.\/)+/, "");
}

function templatesOf(a: Action): [string, string][] {
  switch (a.type) {
    case "redis_save_image":
      return [["key", a.key]];
    case "redis_publish":
      return [["channel", a.channel], ["message", a.message]];
    case "postgresql_update_combined":
      return [
        ["key_value", a.key_value],
        ...Object.entries(a.fields).map(([k, v]): [string, string] => [`fields.${k}`, v]),
      ];
  }
}

function checkActions(
  c: Checker,
  spec: PipelineSpec,
  node: PipelineNode,
  path: string,
  list: "actions" | "parallelActions",
): void {
  const branchIds = new Map(node.branches.map((b) => [b.modelId, b]));
  const savesImageBefore = (i: number) =>
    (list === "parallelActions" && node.actions.some((a) => a.type === "redis_save_image")) ||
    node[list].slice(0, i).some((a) => a.type === "redis_save_image");
  node[list].forEach((action, i) => {
    const ap = `${path}.${list}[${i}]`;
    if ((action.type === "redis_save_image" || action.type === "redis_publish") && !spec.redis) {
      c.warn(ap, 'no "redis" section: set DETECTOR_REDIS_URL when running this pipeline');
    }
    if (action.type === "postgresql_update_combined") {
      if (!spec.postgresql) {
        c.warn(ap, 'no "postgresql" section: set DETECTOR_POSTGRES_URL when running this pipeline');
      }
      if (list === "actions") {
        c.warn(ap, "postgresql_update_combined waits for branches; it belongs in parallelActions");
      }
      action.waitForBranches.forEach((id, k) => {
        if (!branchIds.has(id)) {
          const known = [...branchIds.keys()];
          c.error(
            `${ap}.waitForBranches[${k}]`,
            `"${id}" is not a branch of this node${
              known.length ? ` (branches: ${known.join(", ")})` : " (it has no branches)"
            }`,
          );
        }
      });
    }
    for (const [field, template] of templatesOf(action)) {
      for (const ref of templatePlaceholders(template)) {
        const where = `${ap}.${field}`;
        if (ref.branch === undefined) {
          if (!SIMPLE_PLACEHOLDERS.has(ref.name)) {
            c.error(where, `unknown placeholder {${ref.name}}`);
          } else if (ref.name === "image_key" && !savesImageBefore(i)) {
            c.error(
              where,
              "{image_key} is set by a redis_save_image action, and none runs before this one",
            );
          }
          continue;
        }
        if (list !== "parallelActions") {
          c.error(where, `{${ref.name}}: branch results are only available in parallelActions`);
          continue;
        }
        const branch = branchIds.get(ref.branch);
        if (!branch) {
          c.error(
            where,
            `unknown placeholder {${ref.name}}: "${ref.branch}" is not a branch of this node`,
          );
          continue;
        }
        const fields = new Set<string>([
          ...BRANCH_RESULT_FIELDS,
          resultFieldFor(branch),
          "box",
          "bbox",
        ]);
        if (!fields.has(ref.field!)) {
          c.error(
            where,
            `unknown placeholder {${ref.name}}: branch "${ref.branch}" yields ${
              [...fields].join(", ")
            }`,
          );
        }
      }
    }
  });
}

/** Checks that need no model files. */
export function checkSpecRules(
  c: Checker,
  spec: PipelineSpec,
  nodePaths: Map<PipelineNode, string>,
): void {
  const firstPath = new Map<string, string>();
  const visit = (node: PipelineNode) => {
    const path = nodePaths.get(node) ?? "?";
    if (node.modelId) {
      const prev = firstPath.get(node.modelId);
      if (prev) c.error(`${path}.modelId`, `duplicate modelId "${node.modelId}" (also at ${prev})`);
      else firstPath.set(node.modelId, path);
    }
    const file = node.modelFile;
    if (file) {
      const unsafe = unsafeEntryName(normaliseModelPath(file));
      if (unsafe) {
        c.error(`${path}.modelFile`, `"${file}" is not a safe path inside the archive: ${unsafe}`);
      } else if (/\.(pt|pth)$/i.test(file)) {
        const stem = file.replace(/\.(pt|pth)$/i, "");
        c.error(
          `${path}.modelFile`,
          `"${file}" is a PyTorch model; detector runs ONNX. Export it with ` +
            `\`yolo export model=${file} format=onnx\` and name "${stem}.onnx" here`,
        );
      } else if (!/\.onnx$/i.test(file)) {
        c.error(`${path}.modelFile`, `"${file}" is not an .onnx file`);
      }
    }
    checkActions(c, spec, node, path, "actions");
    checkActions(c, spec, node, path, "parallelActions");
    node.branches.forEach(visit);
  };
  visit(spec.pipeline);
}

export interface NodeModel {
  task: "detect" | "classify";
  classNames: string[];
}

/** Class names used by nodes and actions must exist in the right model's class list. */
export function checkClassNames(
  c: Checker,
  spec: PipelineSpec,
  nodePaths: Map<PipelineNode, string>,
  modelOf: (node: PipelineNode) => NodeModel | undefined,
): void {
  const check = (name: string, model: NodeModel | undefined, path: string, whose: string) => {
    if (!model || model.classNames.includes(name)) return;
    const list = model.classNames.slice(0, 20).join(", ") +
      (model.classNames.length > 20 ? ", …" : "");
    c.error(path, `class "${name}" is not a class of ${whose} (${list})`);
  };
  const visit = (node: PipelineNode, parent: PipelineNode | undefined) => {
    const path = nodePaths.get(node) ?? "?";
    const own = modelOf(node);
    const parentModel = parent ? modelOf(parent) : undefined;
    const triggerSource = parent ? parentModel : own;
    const triggerWhose = parent
      ? `the parent model "${parent.modelId}"`
      : `model "${node.modelId}"`;
    if (!parent || parentModel?.task === "detect") {
      node.triggerClasses.forEach((n, i) =>
        check(n, triggerSource, `${path}.triggerClasses[${i}]`, triggerWhose)
      );
    }
    if (own?.task === "detect") {
      node.expectedClasses.forEach((n, i) =>
        check(n, own, `${path}.expectedClasses[${i}]`, `model "${node.modelId}"`)
      );
    }
    if (node.crop && node.cropClass !== undefined) {
      if (!parent) c.error(`${path}.crop`, "the root node has no parent detection to crop");
      else if (parentModel?.task === "detect") {
        check(node.cropClass, parentModel, `${path}.cropClass`, triggerWhose);
      }
    }
    const regionModel = own?.task === "detect" ? own : parentModel;
    const regionWhose = own?.task === "detect" ? `model "${node.modelId}"` : triggerWhose;
    for (const list of ["actions", "parallelActions"] as const) {
      node[list].forEach((a, i) => {
        if (a.type === "redis_save_image" && a.region !== undefined) {
          check(a.region, regionModel, `${path}.${list}[${i}].region`, regionWhose);
        }
      });
    }
    if (own?.task === "classify" && node.branches.length) {
      c.warn(`${path}.branches`, "a classification node has no detections to trigger branches");
    }
    if (own?.task === "classify" && node.multiClass) {
      c.warn(`${path}.multiClass`, "has no effect on a classification model");
    }
    node.branches.forEach((b) => visit(b, node));
  };
  visit(spec.pipeline, undefined);
}
