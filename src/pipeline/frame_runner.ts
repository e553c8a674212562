import type { PipelineArchive } from "../mpta/types.ts";
import type { RunnerOptions } from "./runner.ts";
import type { FrameInput, PipelineResult, PipelineRunner, RunContext } from "./types.ts";

/** The PipelineRunner behind createPipelineRunner (work in progress). */
export class FrameRunner implements PipelineRunner {
  private constructor(readonly archive: PipelineArchive, readonly opts: RunnerOptions) {}

  static create(archive: PipelineArchive, opts: RunnerOptions): Promise<FrameRunner> {
    return Promise.resolve(new FrameRunner(archive, opts));
  }

  run(_frame: FrameInput, _ctx: RunContext): Promise<PipelineResult> {
    return Promise.reject(new Error("pipeline runner: not implemented yet"));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
