/**
 * The example archives of `pipelines/` (built by `deno task pipelines`), also used by tests of
 * other modules: `car_frontal_full.mpta` (the pympta.md example with colour models: car+frontal
 * detection, brand and body-type branches, Redis and PostgreSQL actions) and
 * `car_detection_only.mpta` (detection only, no databases).
 */

export interface ExampleArchive {
  /** File name in pipelines/. */
  file: string;
  description: string;
  build(): Uint8Array;
}

/** pipeline.json of the full example (models named `.onnx`). */
export function fullExamplePipeline(): Record<string, unknown> {
  throw new Error("not implemented yet");
}

/** pipeline.json of the detection-only example. */
export function detectionOnlyPipeline(): Record<string, unknown> {
  throw new Error("not implemented yet");
}

export const EXAMPLE_ARCHIVES: ExampleArchive[] = [];
