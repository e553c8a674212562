/** Multi-class regions (docs/mpta.md "Execution of one frame"): the best detection of every class, and the checks on them. */
import type { Detection } from "../inference/mod.ts";
import type { PipelineNode } from "../mpta/mod.ts";

/** Best (highest confidence) detection of each class. */
export function bestPerClass<D extends Detection>(dets: D[]): Record<string, D> {
  const out: Record<string, D> = {};
  for (const d of dets) {
    const cur = out[d.class];
    if (!cur || d.confidence > cur.confidence) out[d.class] = d;
  }
  return out;
}

export function bestOverall<D extends Detection>(dets: D[]): D | null {
  let best: D | null = null;
  for (const d of dets) if (!best || d.confidence > best.confidence) best = d;
  return best;
}

/**
 * With `multiClass` and `expectedClasses`: at least one expected class must be present (the
 * original's flexible rule), otherwise the frame yields nothing.
 */
export function passesExpectedClasses(node: PipelineNode, regions: Record<string, Detection>) {
  if (!node.multiClass || node.expectedClasses.length === 0) return true;
  return node.expectedClasses.some((c) => c in regions);
}

/** Every expected class present: the condition for a session row (docs/mpta.md "Sessions"). */
export function hasAllExpectedClasses(node: PipelineNode, regions: Record<string, Detection>) {
  return node.expectedClasses.every((c) => c in regions);
}

/** Branches of `node` triggered by the regions (class in triggerClasses, confidence ≥ minConfidence). */
export function triggeredBranches(
  node: PipelineNode,
  regions: Record<string, Detection>,
): PipelineNode[] {
  return node.branches.filter((b) => branchTriggers(b, regions));
}

export function branchTriggers(branch: PipelineNode, regions: Record<string, Detection>) {
  return Object.values(regions).some((d) =>
    branch.triggerClasses.includes(d.class) && d.confidence >= branch.minConfidence
  );
}

/** Class whose box a branch crops: `cropClass`, else the first trigger class. */
export function cropClassOf(branch: PipelineNode): string | undefined {
  return branch.cropClass ?? branch.triggerClasses[0];
}
