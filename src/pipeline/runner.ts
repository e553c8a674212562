import type { PipelineArchive } from "../mpta/mod.ts";
import { FrameRunner } from "./frame_runner.ts";
import type { RunnerOptions } from "./runner_options.ts";
import type { PipelineRunner } from "./types.ts";

export type { ModelsLoader, RunnerOptions } from "./runner_options.ts";

/**
 * Loads every model of the archive, connects (pooled, lazily) to the archive's Redis and
 * PostgreSQL (or the URL overrides), and returns a runner that executes docs/mpta.md "Execution of one
 * frame" on each frame it is given, keeping tracker and session state per camera. Writes that
 * fail go to the spool in `spoolDir` and are replayed in order when the server is back.
 * `close()` disposes the models and releases the connections (the spool stays on disk).
 */
export async function createPipelineRunner(
  archive: PipelineArchive,
  opts: RunnerOptions,
): Promise<PipelineRunner> {
  return await FrameRunner.create(archive, opts);
}
