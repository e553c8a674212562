/** One camera subscription as the backend describes it (docs/protocol.md "The subscription object"). */
export interface Crop {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface SubscriptionSpec {
  subscriptionIdentifier: string;
  displayId: string;
  cameraId: string;
  rtspUrl?: string;
  snapshotUrl?: string;
  snapshotInterval?: number;
  modelUrl: string;
  modelId: number;
  modelName?: string;
  crop?: Crop;
}

/** How frames of a subscription are read: the key by which readers are shared. */
export interface ReaderSpec {
  kind: "stream" | "snapshot";
  url: string;
  intervalMs?: number;
}

/** The original's choice: snapshot polling when `snapshotUrl` has an interval, else the stream. */
export function readerSpecOf(spec: SubscriptionSpec): ReaderSpec {
  if (spec.snapshotUrl && spec.snapshotInterval) {
    return { kind: "snapshot", url: spec.snapshotUrl, intervalMs: spec.snapshotInterval };
  }
  return { kind: "stream", url: spec.rtspUrl! };
}

/** True when a running subscription must be restarted to match `b`. */
export function parametersDiffer(a: SubscriptionSpec, b: SubscriptionSpec): boolean {
  return a.rtspUrl !== b.rtspUrl ||
    a.snapshotUrl !== b.snapshotUrl ||
    a.snapshotInterval !== b.snapshotInterval ||
    a.modelUrl !== b.modelUrl ||
    a.modelId !== b.modelId ||
    a.modelName !== b.modelName ||
    a.crop?.x1 !== b.crop?.x1 ||
    a.crop?.y1 !== b.crop?.y1 ||
    a.crop?.x2 !== b.crop?.x2 ||
    a.crop?.y2 !== b.crop?.y2;
}
