/** Loads every model of an archive's node tree, keyed by `modelId`. */
import type { PipelineArchive } from "../mpta/types.ts";
import type { LoadOptions, Model } from "./types.ts";

/**
 * Loads the model of every node (class names from the node's `classes` when the ONNX metadata has
 * none). On failure the models already loaded are disposed and the error names the node's modelId.
 */
export function loadPipelineModels(
  _archive: PipelineArchive,
  _opts: LoadOptions = {},
): Promise<Map<string, Model>> {
  throw new Error("not implemented yet");
}

/** Disposes every model of the map. */
export async function disposeModels(models: Map<string, Model>): Promise<void> {
  await Promise.allSettled([...models.values()].map((m) => m.dispose()));
}
