import type { Detection, PreparedImage } from "../inference/mod.ts";
import type { FrameSize } from "../core/mod.ts";

/** What one pipeline run on one frame produced (docs/mpta.md "Execution of one frame"). */
export interface BranchResult {
  modelId: string;
  /** Classification: top-1 class and confidence, plus the named field (`brand: "Honda"`). */
  class?: string;
  confidence?: number;
  /** Detection branch: its best detection and its own branch results. */
  detection?: Detection;
  branchResults?: Record<string, BranchResult>;
  /** Named fields (`brand`, `body_type`, …) → value. */
  fields: Record<string, string | number | null>;
}

export interface PipelineResult {
  /** Best detection of the root (null when nothing passed). */
  detection: Detection | null;
  /** Best detection per class when the root is multiClass. */
  regions: Record<string, Detection>;
  branchResults: Record<string, BranchResult>;
  /** Session (UUID v4) created for this event, if any. */
  sessionId: string | null;
  /** Tracker id of the vehicle, when tracking is on. */
  trackId?: number;
  /** ms spent per stage (detect, branches, actions). */
  timings: Record<string, number>;
  /** Every root detection that passed minConfidence/triggerClasses, with track ids. */
  detections?: TrackedDetection[];
  /** True on the frame whose event ran the actions (writes were submitted or spooled). */
  eventFired?: boolean;
  /** Why the frame yielded no event (`no_detection`, `expected_classes`, `prevalidation`, …). */
  skipped?: string;
}

export interface FrameInput {
  jpeg?: Uint8Array;
  /**
   * The root model's input, pre-processed ahead by `FrameRunner.prepare` while an earlier frame
   * was in inference.
   */
  prepared?: Promise<PreparedImage>;
  /**
   * The root model's detections, started ahead by `FrameRunner.prepare` when the root model has
   * instances to spare: they run while an earlier frame is detected or in its branches.
   */
  detected?: Promise<Detection[]>;
  /** Raw RGB alternative to JPEG (replay feeds ffmpeg's rawvideo). */
  rgb?: Uint8Array;
  width: number;
  height: number;
  /**
   * The camera's picture size when `rgb` is that picture scaled down (`run`'s analysis size):
   * detections, crops and border checks are in these pixels, the pixels read scaled.
   */
  native?: FrameSize;
  /** Capture time, ms epoch. */
  at: number;
}

export interface RunContext {
  cameraId: string;
  displayId: string;
}

/** A loaded pipeline with its own session/tracker state, for one subscription or replay. */
export interface PipelineRunner {
  run(frame: FrameInput, ctx: RunContext): Promise<PipelineResult>;
  /** Waits until submitted writes reached their servers; false when some are still spooled. */
  flush?(timeoutMs?: number): Promise<boolean>;
  /** Writes finish or go to the spool, connections are released, models disposed. */
  close(): Promise<void>;
}

export type { PlannedWrite } from "../actions/mod.ts";

/** A detection of the root node with its tracker id (absent in per-frame mode). */
export interface TrackedDetection {
  class: string;
  classId: number;
  confidence: number;
  box: [number, number, number, number];
  trackId?: number;
}
