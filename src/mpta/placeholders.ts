/**
 * Template placeholders of actions (docs/mpta.md "Actions"): which names exist, how to find them in a
 * template, and the named result field of a classification branch. Shared by the validator and the
 * action runner so both agree on what a template may use.
 */
import type { PipelineNode } from "./types.ts";

/** Fields of the detection result available to every action. */
export const DETECTION_PLACEHOLDERS = [
  "class",
  "classId",
  "confidence",
  "id",
  "bbox",
  "box",
  "x1",
  "y1",
  "x2",
  "y2",
  "track_id",
] as const;

/** Context placeholders available to every action. */
export const CONTEXT_PLACEHOLDERS = [
  "timestamp_ms",
  "timestamp",
  "uuid",
  "filename",
  "camera_id",
  "display_id",
  "session_id",
  "image_key",
] as const;

/** Every simple (dot-free) placeholder. */
export const SIMPLE_PLACEHOLDERS: ReadonlySet<string> = new Set<string>([
  ...DETECTION_PLACEHOLDERS,
  ...CONTEXT_PLACEHOLDERS,
]);

/** Fields every branch result has, besides its named field (`brand`, `body_type`…). */
export const BRANCH_RESULT_FIELDS = ["class", "classId", "confidence"] as const;

/**
 * `{name}` or `{branchModelId.field}`. Braces around anything else (`{"event": …}` in a JSON
 * message) are literal text, not placeholders.
 */
export const PLACEHOLDER_PATTERN = /\{([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}/g;

export interface PlaceholderRef {
  /** The text between the braces. */
  name: string;
  /** For `{branch.field}`: the branch model id and the field. */
  branch?: string;
  field?: string;
  /** Offset of `{` in the template. */
  index: number;
}

/** Lists the placeholders of a template, in order. */
export function templatePlaceholders(template: string): PlaceholderRef[] {
  const out: PlaceholderRef[] = [];
  for (const m of template.matchAll(PLACEHOLDER_PATTERN)) {
    const name = m[1];
    const dot = name.indexOf(".");
    out.push(
      dot < 0 ? { name, index: m.index! } : {
        name,
        branch: name.slice(0, dot),
        field: name.slice(dot + 1),
        index: m.index!,
      },
    );
  }
  return out;
}

/**
 * The named field a classification branch fills (the original's rule): `resultField` when set,
 * else `brand` if the model id contains "brand", `body_type` for "bodytype"/"body", `color` for
 * "color"/"colour", else the model id itself.
 */
export function resultFieldFor(node: Pick<PipelineNode, "modelId" | "resultField">): string {
  if (node.resultField) return node.resultField;
  const id = node.modelId.toLowerCase();
  if (id.includes("brand")) return "brand";
  if (id.includes("bodytype") || id.includes("body")) return "body_type";
  if (id.includes("color") || id.includes("colour")) return "color";
  return node.modelId;
}
