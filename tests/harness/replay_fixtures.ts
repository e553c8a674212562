/**
 * Fixtures of the replay tests: the example archives of src/testmodels built into temp files
 * (optionally with a changed pipeline.json), and reading `replay --out` JSON lines.
 */
import { zipDeterministic } from "../../src/mpta/pack.ts";
import {
  EXAMPLE_ARCHIVES,
  fullExampleModels,
  fullExamplePipeline,
} from "../../src/testmodels/example_archives.ts";

// deno-lint-ignore no-explicit-any
export type PipelineJson = any;

/** The full pympta.md example archive, with `edit` applied to its pipeline.json. */
export async function fullArchive(
  dir: string,
  edit: (p: PipelineJson) => void = () => {},
  models: Record<string, Uint8Array> = fullExampleModels(),
): Promise<string> {
  const pipeline = fullExamplePipeline();
  edit(pipeline);
  const files: Record<string, Uint8Array> = {
    "pipeline.json": new TextEncoder().encode(JSON.stringify(pipeline, null, 2)),
    ...models,
  };
  const path = `${dir}/full_${crypto.randomUUID().slice(0, 8)}.mpta`;
  await Deno.writeFile(path, zipDeterministic(files));
  return path;
}

/** The detection-only example archive as built for pipelines/. */
export async function detectionOnlyArchive(dir: string): Promise<string> {
  const a = EXAMPLE_ARCHIVES.find((e) => e.file === "car_detection_only.mpta");
  if (!a) throw new Error("no car_detection_only example archive");
  const path = `${dir}/detection_only.mpta`;
  await Deno.writeFile(path, a.build());
  return path;
}

export interface FrameLine {
  frame: number;
  time: number;
  width: number;
  height: number;
  detections?: { class: string; confidence: number; box: number[]; trackId?: number }[];
  branches?: Record<string, { class: string; confidence: number; fields: Record<string, unknown> }>;
  sessionId?: string | null;
  trackId?: number;
  event?: boolean;
  skipped?: string;
  writes?: Record<string, unknown>[];
  error?: string;
}

export async function readLines(path: string): Promise<FrameLine[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** The JPEG size redis_save_image makes of a region box (floor/ceil, as src/pipeline/crop.ts). */
export function cropSize(box: number[]): [number, number] {
  return [Math.ceil(box[2]) - Math.floor(box[0]), Math.ceil(box[3]) - Math.floor(box[1])];
}
