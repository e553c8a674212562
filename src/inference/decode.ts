/**
 * Model outputs → results: the three detection layouts of docs/mpta.md (boxes mapped from the
 * letterboxed input back to frame pixels, clipped, per-class NMS) and classification top-1.
 */
import type { TensorData } from "./backend.ts";
import type { Layout } from "./model_description.ts";
import { type Candidate, nmsPerClass } from "./nms.ts";
import type { Letterbox } from "./preprocess.ts";
import type { Classification, Detection, DetectOptions } from "./types.ts";

/** Most candidates handed to NMS (highest scores kept), as ultralytics' `max_nms`. */
export const MAX_NMS_CANDIDATES = 30_000;
export const MAX_DETECTIONS = 300;
export const DEFAULT_IOU = 0.45;

export class DecodeError extends Error {}

function allowedMask(classNames: string[], classes?: string[]): Uint8Array {
  const mask = new Uint8Array(classNames.length);
  if (!classes) mask.fill(1);
  else {for (const c of classes) {
      const i = classNames.indexOf(c);
      if (i >= 0) mask[i] = 1;
    }}
  return mask;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

function toFrame(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  lb: Letterbox,
): [number, number, number, number] | null {
  const fx1 = Math.min(Math.max((x1 - lb.padX) / lb.scaleX, 0), lb.width);
  const fy1 = Math.min(Math.max((y1 - lb.padY) / lb.scaleY, 0), lb.height);
  const fx2 = Math.min(Math.max((x2 - lb.padX) / lb.scaleX, 0), lb.width);
  const fy2 = Math.min(Math.max((y2 - lb.padY) / lb.scaleY, 0), lb.height);
  if (!(fx2 > fx1 && fy2 > fy1)) return null;
  return [round2(fx1), round2(fy1), round2(fx2), round2(fy2)];
}

/** Decodes one detection output tensor. */
export function decodeDetections(
  out: TensorData,
  layout: Layout,
  classNames: string[],
  lb: Letterbox,
  opts: DetectOptions,
): Detection[] {
  const nc = classNames.length;
  const { data, dims } = out;
  const minConf = opts.minConfidence;
  const allowed = allowedMask(classNames, opts.classes);
  const candidates: Candidate[] = [];
  const push = (cls: number, conf: number, x1: number, y1: number, x2: number, y2: number) => {
    const box = toFrame(x1, y1, x2, y2, lb);
    if (box) candidates.push({ classId: cls, confidence: conf, box });
  };
  if (layout === "yolov8") {
    const [, rows, n] = dims;
    if (rows !== 4 + nc) throw new DecodeError(`output has ${rows} rows, expected ${4 + nc}`);
    // class-major rows are contiguous: scan them in order, keep the best class per anchor among
    // the scores that pass (most do not, so the first test nearly always ends it)
    const best = new Float32Array(n);
    const bestCls = new Int32Array(n).fill(-1);
    for (let c = 0; c < nc; c++) {
      if (!allowed[c]) continue;
      const base = (4 + c) * n;
      for (let a = 0; a < n; a++) {
        const s = data[base + a];
        if (s >= minConf && s > best[a]) {
          best[a] = s;
          bestCls[a] = c;
        }
      }
    }
    for (let a = 0; a < n; a++) {
      const s = best[a];
      if (bestCls[a] < 0) continue;
      const cx = data[a], cy = data[n + a], w = data[2 * n + a], h = data[3 * n + a];
      push(bestCls[a], s, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
    }
  } else if (layout === "yolov5") {
    const [, n, cols] = dims;
    if (cols !== 5 + nc) throw new DecodeError(`output has ${cols} columns, expected ${5 + nc}`);
    for (let a = 0; a < n; a++) {
      const o = a * cols;
      const obj = data[o + 4];
      if (obj < minConf) continue; // conf = obj × cls ≤ obj
      let bc = -1;
      let bs = 0;
      for (let c = 0; c < nc; c++) {
        const s = data[o + 5 + c];
        if (allowed[c] && s > bs) {
          bs = s;
          bc = c;
        }
      }
      const conf = obj * bs;
      if (bc < 0 || conf < minConf) continue;
      const cx = data[o], cy = data[o + 1], w = data[o + 2], h = data[o + 3];
      push(bc, conf, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
    }
  } else {
    const [, k, cols] = dims;
    if (cols !== 6) throw new DecodeError(`output has ${cols} columns, expected 6`);
    for (let i = 0; i < k; i++) {
      const o = i * 6;
      const conf = data[o + 4];
      const cls = Math.round(data[o + 5]);
      if (conf < minConf || !(conf > 0)) continue;
      if (cls < 0 || cls >= nc) {
        throw new DecodeError(`end-to-end output names class ${cls}; the model has ${nc} classes`);
      }
      if (!allowed[cls]) continue;
      push(cls, conf, data[o], data[o + 1], data[o + 2], data[o + 3]);
    }
  }
  let picked: Candidate[];
  if (layout === "end2end") {
    picked = candidates.sort((a, b) => b.confidence - a.confidence).slice(0, MAX_DETECTIONS);
  } else {
    if (candidates.length > MAX_NMS_CANDIDATES) {
      candidates.sort((a, b) => b.confidence - a.confidence);
      candidates.length = MAX_NMS_CANDIDATES;
    }
    picked = nmsPerClass(candidates, opts.iou ?? DEFAULT_IOU, MAX_DETECTIONS);
  }
  return picked.map((c) => ({
    class: classNames[c.classId],
    classId: c.classId,
    confidence: c.confidence,
    box: c.box,
  }));
}

/** Top-1 of a classification output; softmax first when the values are not a distribution. */
export function decodeClassification(out: TensorData, classNames: string[]): Classification {
  const n = out.data.length;
  if (n !== classNames.length) {
    throw new DecodeError(`output has ${n} values, the model has ${classNames.length} classes`);
  }
  let sum = 0;
  let isDistribution = true;
  for (let i = 0; i < n; i++) {
    const v = out.data[i];
    if (!(v >= 0 && v <= 1)) isDistribution = false;
    sum += v;
  }
  let probs: ArrayLike<number> = out.data;
  if (!isDistribution || Math.abs(sum - 1) > 1e-3) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, out.data[i]);
    const e = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += e[i] = Math.exp(out.data[i] - max);
    for (let i = 0; i < n; i++) e[i] /= total;
    probs = e;
  }
  let best = 0;
  for (let i = 1; i < n; i++) if (probs[i] > probs[best]) best = i;
  return { class: classNames[best], classId: best, confidence: probs[best] };
}
