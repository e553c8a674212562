/** Greedy non-maximum suppression, per class. */

export interface Candidate {
  classId: number;
  confidence: number;
  /** [x1, y1, x2, y2] */
  box: [number, number, number, number];
}

export function iou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Keeps, highest confidence first, every candidate that does not overlap a kept one of the same
 * class by more than `iouThreshold`; at most `maxKeep`.
 */
export function nmsPerClass<T extends Candidate>(
  candidates: T[],
  iouThreshold: number,
  maxKeep = 300,
): T[] {
  const sorted = [...candidates].sort((a, b) => b.confidence - a.confidence);
  const kept: T[] = [];
  const keptByClass = new Map<number, T[]>();
  for (const c of sorted) {
    const same = keptByClass.get(c.classId);
    if (same?.some((k) => iou(k.box, c.box) > iouThreshold)) continue;
    kept.push(c);
    if (same) same.push(c);
    else keptByClass.set(c.classId, [c]);
    if (kept.length >= maxKeep) break;
  }
  return kept;
}
