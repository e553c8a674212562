/** Loads every model of an archive's node tree, keyed by `modelId`. */
import type { PipelineArchive, PipelineNode } from "../mpta/types.ts";
import { errorMessage } from "../core/log.ts";
import { loadModel } from "../inference/load_model.ts";
import type { LoadOptions, Model } from "../inference/types.ts";

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
 * Loads the model of every node (class names from the node's `classes` when the ONNX metadata has
 * none). On failure the models already loaded are disposed and the error names the node's modelId.
 */
export async function loadPipelineModels(
  archive: PipelineArchive,
  opts: LoadOptions = {},
): Promise<Map<string, Model>> {
  const models = new Map<string, Model>();
  try {
    for (const node of walkNodes(archive.spec.pipeline)) {
      const bytes = archive.file(node.modelFile);
      if (!bytes) throw new Error(`modelFile "${node.modelFile}" is not in the archive`);
      try {
        models.set(node.modelId, await loadModel(bytes, { ...opts, classNames: node.classes }));
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
