/**
 * Extracted archives on disk, one folder per model id and content hash:
 * `<cacheDir>/<modelId>/<hash[0:16]>/` holding `pipeline.json` and the model files.
 * Writes go to a temporary folder renamed into place, so a reader never sees half an archive.
 */
import type { PipelineArchive } from "./types.ts";

export interface ExtractOptions {
  /** Root of the cache; default `$DETECTOR_MODEL_CACHE` or `./models`. */
  cacheDir?: string;
  /** Folder key; default the root node's `modelId` (the worker passes the CMS model id). */
  modelId?: string | number;
}

/** Extracts the archive (once per hash) and sets `archive.dir`; returns the folder. */
export function extractArchive(
  _archive: PipelineArchive,
  _opts: ExtractOptions = {},
): Promise<string> {
  throw new Error("not implemented yet");
}
