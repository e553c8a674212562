import type { Logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import type { BackendChoice, LoadOptions, Model } from "../inference/mod.ts";
import type { PipelineArchive } from "../mpta/mod.ts";
import type { TrackingMode } from "./sessions.ts";
import type { PlannedWrite } from "./types.ts";

/** Loads the model of every node, by modelId; the default is ./models.ts (tests inject fakes). */
export type ModelsLoader = (
  archive: PipelineArchive,
  opts: LoadOptions,
) => Promise<Map<string, Model>>;

export interface RunnerOptions {
  /** Inference backend, default "auto". */
  backend?: BackendChoice;
  /** Intra-op threads per model (per instance); default: all cores. */
  threads?: number;
  /** Instances of the root model (default: `modelInstances` of the thread budget). */
  instances?: number;
  /** Overrides the archive's `redis` block. */
  redisUrl?: string;
  /** Overrides the archive's `postgresql` block. */
  postgresUrl?: string;
  /** Directory of the on-disk spool for failed writes (docs/mpta.md "When Redis or PostgreSQL is down"). */
  spoolDir: string;
  /** Largest number of spooled writes per server before the oldest are dropped. */
  spoolMaxEntries?: number;
  /** Largest total size of spooled writes per server in bytes. */
  spoolMaxBytes?: number;
  /**
   * "bytetrack": one session per tracked vehicle (IoU + Kalman tracker per camera).
   * "per-frame": the original worker's behaviour, every qualifying frame is a new event.
   */
  tracking: TrackingMode;
  /**
   * bytetrack: a lost vehicle's session stays open this long; a new track that starts where it
   * was lost continues it. per-frame: the least time between two events of one camera (0 = none).
   */
  sessionCooldownMs: number;
  /** Run no writes; each write that would happen is passed to `onPlannedWrite` instead. */
  dryRun?: boolean;
  /** Called with every write the runner submits (or, with dryRun, would submit). */
  onPlannedWrite?: (write: PlannedWrite, ctx: { cameraId: string }) => void;
  log?: Logger;
  /** Counts frames, skips, events and writes. */
  metrics: Metrics;
  /** Model loader; default: loadPipelineModels of ./models.ts. */
  loadModels?: ModelsLoader;
}
