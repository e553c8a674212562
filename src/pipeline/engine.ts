/**
 * Runs nodes of a pipeline tree on images (docs/mpta.md "Execution of one frame"):
 * detection with class filter and NMS, classification, branches with crops by `cropClass`
 * resized to `resizeTarget`, parallel branches concurrently, detection branches recursively.
 * Writes are not done here: the runner plans them from the finished tree of runs.
 */
import { errorMessage, type Logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import type {
  Classification,
  ClassificationModel,
  Detection,
  DetectionModel,
  Model,
  PreparedImage,
} from "../inference/mod.ts";
import { resultFieldFor } from "../mpta/mod.ts";
import type { PipelineNode } from "../mpta/mod.ts";
import { FrameImage } from "./crop.ts";
import { missingRequiredBranches } from "./prevalidation.ts";
import {
  bestOverall,
  bestPerClass,
  cropClassOf,
  passesExpectedClasses,
  triggeredBranches,
} from "./regions.ts";
import type { BranchResult } from "./types.ts";

/** One node's execution on one image. */
export interface NodeRun {
  node: PipelineNode;
  image: FrameImage;
  /** Detection nodes: accepted detections, best per class, best overall. */
  detections: Detection[];
  regions: Record<string, Detection>;
  best: Detection | null;
  /** Classification nodes: the top-1 class. */
  classification?: Classification;
  /** Branches that ran and produced a result, by modelId. */
  branches: Record<string, NodeRun>;
  /** Named fields (`brand: "Honda"`). */
  fields: Record<string, string | number | null>;
}

export class Engine {
  constructor(
    readonly models: Map<string, Model>,
    readonly log: Logger,
    readonly metrics: Metrics,
  ) {}

  model(node: PipelineNode): Model {
    const m = this.models.get(node.modelId);
    if (!m) throw new Error(`no model loaded for "${node.modelId}"`);
    return m;
  }

  /**
   * Detections of a detection node at or above `minConfidence`; the root keeps only its
   * `triggerClasses` (classes of interest), branches keep every class of their model. `prepared`:
   * the image already pre-processed for the node's model (see `prepare`).
   */
  async detect(
    node: PipelineNode,
    image: FrameImage,
    minConfidence: number,
    isRoot: boolean,
    prepared?: Promise<PreparedImage>,
  ): Promise<Detection[]> {
    const model = this.model(node);
    if (model.task !== "detect") {
      throw new Error(`"${node.modelId}" is a classification model where detection is needed`);
    }
    const opts = {
      minConfidence,
      iou: node.iou,
      ...(isRoot && node.triggerClasses.length ? { classes: node.triggerClasses } : {}),
    };
    const m = model as DetectionModel;
    const found = prepared && m.detectPrepared
      ? await m.detectPrepared(await prepared, opts)
      : await m.detect(image.modelInput(), opts);
    return image.toPicture(found);
  }

  /**
   * Starts the pre-processing of a detection node's input (decode, letterbox) now, so it overlaps
   * whatever runs meanwhile; undefined when the model cannot prepare ahead.
   */
  prepare(node: PipelineNode, image: FrameImage): Promise<PreparedImage> | undefined {
    const model = this.model(node);
    if (model.task !== "detect" || !model.prepare || !model.detectPrepared) return undefined;
    const p = model.prepare(image.modelInput());
    p.catch(() => {}); // the error is raised where the frame is run
    return p;
  }

  /** Runs the triggered branches of a node: parallel ones concurrently, others in order. */
  async runBranches(
    node: PipelineNode,
    image: FrameImage,
    regions: Record<string, Detection>,
  ): Promise<Record<string, NodeRun>> {
    const triggered = triggeredBranches(node, regions);
    const out: Record<string, NodeRun> = {};
    const settle = async (b: PipelineNode) => {
      try {
        const run = await this.runBranch(b, image, regions);
        if (run) out[b.modelId] = run;
      } catch (err) {
        this.metrics.inc("detector_pipeline_branch_errors_total", "Branch runs that failed", {
          branch: b.modelId,
        });
        this.log.warn("branch failed", { branch: b.modelId, error: errorMessage(err) });
      }
    };
    const parallel = triggered.filter((b) => b.parallel).map(settle);
    for (const b of triggered.filter((b) => !b.parallel)) await settle(b);
    await Promise.all(parallel);
    // Keep the tree's order whatever finished first.
    const ordered: Record<string, NodeRun> = {};
    for (const b of node.branches) if (out[b.modelId]) ordered[b.modelId] = out[b.modelId];
    return ordered;
  }

  /** One branch on the parent's image (or its crop). Null when it yields nothing. */
  async runBranch(
    branch: PipelineNode,
    parentImage: FrameImage,
    parentRegions: Record<string, Detection>,
  ): Promise<NodeRun | null> {
    let image = parentImage;
    if (branch.crop) {
      const cls = cropClassOf(branch);
      const region = cls ? parentRegions[cls] : undefined;
      if (!region) {
        this.log.debug("crop class not detected, branch skipped", {
          branch: branch.modelId,
          cropClass: cls,
        });
        return null;
      }
      const crop = await parentImage.crop(region.box, branch.resizeTarget);
      if (!crop) return null;
      image = new FrameImage(crop);
    }
    const model = this.model(branch);
    if (model.task === "classify") {
      const c = await (model as ClassificationModel).classify(image.modelInput());
      return {
        node: branch,
        image,
        detections: [],
        regions: {},
        best: null,
        classification: c,
        branches: {},
        fields: { [resultFieldFor(branch)]: c.class },
      };
    }
    const detections = await this.detect(branch, image, branch.minConfidence, false);
    if (detections.length === 0) return null;
    const regions = bestPerClass(detections);
    if (!passesExpectedClasses(branch, regions)) return null;
    if (missingRequiredBranches(branch, regions).length) return null;
    const best = bestOverall(detections)!;
    return {
      node: branch,
      image,
      detections,
      regions,
      best,
      branches: await this.runBranches(branch, image, regions),
      fields: { [resultFieldFor(branch)]: best.class },
    };
  }
}

/** The reported form of a branch run (PipelineResult.branchResults). */
export function branchResult(run: NodeRun): BranchResult {
  const r: BranchResult = { modelId: run.node.modelId, fields: { ...run.fields } };
  if (run.classification) {
    r.class = run.classification.class;
    r.confidence = run.classification.confidence;
  } else if (run.best) {
    r.class = run.best.class;
    r.confidence = run.best.confidence;
    r.detection = run.best;
    r.branchResults = branchResults(run.branches);
  }
  return r;
}

export function branchResults(runs: Record<string, NodeRun>): Record<string, BranchResult> {
  const out: Record<string, BranchResult> = {};
  for (const [id, run] of Object.entries(runs)) out[id] = branchResult(run);
  return out;
}

/**
 * True when every `waitForBranches` of every node that ran has its branch results: the event can
 * be written whole.
 */
export function eventComplete(run: NodeRun): boolean {
  for (const a of run.node.parallelActions) {
    if (a.type !== "postgresql_update_combined") continue;
    if (a.waitForBranches.some((b) => !(b in run.branches))) return false;
  }
  return Object.values(run.branches).every(eventComplete);
}
