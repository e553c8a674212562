/**
 * Pre-validation (docs/mpta.md "Execution of one frame", the original's rule "never half-written events"): when a
 * `parallelActions` entry waits for branches that cannot trigger on this frame, nothing is
 * written for it.
 */
import type { Detection } from "../inference/mod.ts";
import type { PipelineNode } from "../mpta/mod.ts";
import { branchTriggers, cropClassOf } from "./regions.ts";

/** Branch ids that some parallel action of the node waits for. */
export function requiredBranches(node: PipelineNode): Set<string> {
  const out = new Set<string>();
  for (const a of node.parallelActions) {
    if (a.type === "postgresql_update_combined") { for (const b of a.waitForBranches) out.add(b); }
  }
  return out;
}

/**
 * Required branches that will not run on this frame: not triggered by any region, or a crop
 * branch whose crop class was not detected. Empty when the frame may go on.
 */
export function missingRequiredBranches(
  node: PipelineNode,
  regions: Record<string, Detection>,
): string[] {
  const required = requiredBranches(node);
  const missing: string[] = [];
  for (const id of required) {
    const branch = node.branches.find((b) => b.modelId === id);
    if (!branch || !branchTriggers(branch, regions)) {
      missing.push(id);
      continue;
    }
    const cropClass = cropClassOf(branch);
    if (branch.crop && (!cropClass || !(cropClass in regions))) missing.push(id);
  }
  return missing;
}
