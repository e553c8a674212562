/** Loads every model of an archive's node tree, keyed by `modelId`. */
import type { PipelineArchive, PipelineNode } from "../mpta/mod.ts";
import { errorMessage } from "../core/mod.ts";
import { loadModel } from "../inference/mod.ts";
import { modelInstances, processThreadBudget } from "../inference/mod.ts";
import type { LoadOptions, Model } from "../inference/mod.ts";

/** Every node of the tree, depth first, root first. */
export function walkNodes(root: PipelineNode): PipelineNode[] {
  const out: PipelineNode[] = [];
  const visit = (n: PipelineNode) => {
    out.push(n);
    n.branches.forEach(visit);
  };
  visit(root);
  return out;
}

/**
 * Intra-op threads of each node's session when none are asked for: the root gets the whole budget;
 * a branch shares it with the siblings that run at the same time (the parallel ones, plus one for
 * the sequential ones, which run alongside them), so a frame's branches never oversubscribe.
 */
export function nodeThreads(root: PipelineNode, budget: number): Map<PipelineNode, number> {
  const out = new Map<PipelineNode, number>([[root, budget]]);
  const visit = (n: PipelineNode) => {
    const parallel = n.branches.filter((b) => b.parallel).length;
    const concurrent = parallel + (n.branches.length > parallel ? 1 : 0);
    for (const b of n.branches) {
      out.set(b, Math.max(1, Math.floor(budget / Math.max(1, concurrent))));
      visit(b);
    }
  };
  visit(root);
  return out;
}

/**
 * Loads the model of every node (class names from the node's `classes` when the ONNX metadata has
 * none), with `opts.threads` or else `nodeThreads`. The root model, which runs on every frame,
 * gets `opts.instances` (default: `modelInstances` of the budget) instances sharing its threads.
 * On failure the models already loaded are disposed and the error names the node's modelId.
 */
export async function loadPipelineModels(
  archive: PipelineArchive,
  opts: LoadOptions = {},
): Promise<Map<string, Model>> {
  const models = new Map<string, Model>();
  const budget = opts.budget === undefined ? processThreadBudget() : opts.budget;
  const cores = budget?.size ?? navigator.hardwareConcurrency ?? 1;
  const root = archive.spec.pipeline;
  const threads = nodeThreads(root, cores);
  const instances = Math.max(1, Math.floor(opts.instances ?? modelInstances(cores)));
  threads.set(root, Math.max(1, Math.floor(cores / instances)));
  try {
    for (const node of walkNodes(root)) {
      const bytes = archive.file(node.modelFile);
      if (!bytes) throw new Error(`modelFile "${node.modelFile}" is not in the archive`);
      try {
        models.set(
          node.modelId,
          await loadModel(bytes, {
            ...opts,
            threads: opts.threads ?? threads.get(node),
            instances: node === root ? instances : 1,
            // a frame's branches hold up the next frames; detections started ahead can wait
            urgent: node !== root,
            classNames: node.classes,
          }),
        );
      } catch (err) {
        throw new Error(`model "${node.modelId}" (${node.modelFile}): ${errorMessage(err)}`);
      }
    }
    return models;
  } catch (err) {
    await disposeModels(models);
    throw err;
  }
}

/** Disposes every model of the map. */
export async function disposeModels(models: Map<string, Model>): Promise<void> {
  await Promise.allSettled([...models.values()].map((m) => m.dispose()));
}
