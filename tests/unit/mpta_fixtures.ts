/** Archives for the mpta tests, built from the example pipelines with one thing changed. */
import { zipDeterministic } from "../../src/mpta/pack.ts";
import { fullExampleModels, fullExamplePipeline } from "../../src/testmodels/example_archives.ts";

export type Json = Record<string, unknown>;

/** The full example's pipeline.json as a mutable object. */
export function fullPipeline(): Json {
  return structuredClone(fullExamplePipeline()) as Json;
}

/** Root node of a pipeline object. */
export function root(p: Json): Json {
  return p.pipeline as Json;
}

export function branch(p: Json, i: number): Json {
  return (root(p).branches as Json[])[i];
}

/** A ZIP holding pipeline.json (object or raw text) and the full example's models. */
export function archiveOf(
  pipeline: Json | string,
  opts: { models?: Record<string, Uint8Array>; omit?: string[]; folder?: string } = {},
): Uint8Array {
  const files: Record<string, Uint8Array> = { ...fullExampleModels(), ...(opts.models ?? {}) };
  for (const name of opts.omit ?? []) delete files[name];
  files["pipeline.json"] = new TextEncoder().encode(
    typeof pipeline === "string" ? pipeline : JSON.stringify(pipeline, null, 2),
  );
  const prefixed: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(files)) prefixed[(opts.folder ?? "") + k] = v;
  return zipDeterministic(prefixed);
}
