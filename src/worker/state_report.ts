/** The `stateReport` heartbeat (docs/protocol.md): machine figures plus one entry per subscription. */
import { redactUrl } from "../core/mod.ts";
import type { GpuFigures } from "./gpu_stats.ts";
import type { SubscriptionSpec } from "./subscription_spec.ts";
import type { SystemFigures } from "./system_stats.ts";

export interface ReportedSubscription {
  readonly spec: SubscriptionSpec;
  online(): boolean;
}

export function cameraConnection(sub: ReportedSubscription): Record<string, unknown> {
  const s = sub.spec;
  const entry: Record<string, unknown> = {
    subscriptionIdentifier: s.subscriptionIdentifier,
    modelId: s.modelId,
    modelName: s.modelName ?? null,
    online: sub.online(),
  };
  if (s.rtspUrl) entry.rtspUrl = redactUrl(s.rtspUrl);
  if (s.snapshotUrl) entry.snapshotUrl = redactUrl(s.snapshotUrl);
  if (s.snapshotInterval) entry.snapshotInterval = s.snapshotInterval;
  if (s.crop) {
    entry.cropX1 = s.crop.x1;
    entry.cropY1 = s.crop.y1;
    entry.cropX2 = s.crop.x2;
    entry.cropY2 = s.crop.y2;
  }
  return entry;
}

export function stateReport(
  system: SystemFigures,
  gpu: GpuFigures,
  subscriptions: readonly ReportedSubscription[],
): Record<string, unknown> {
  return {
    type: "stateReport",
    cpuUsage: system.cpuUsage,
    memoryUsage: system.memoryUsage,
    gpuUsage: gpu.gpuUsage,
    gpuMemoryUsage: gpu.gpuMemoryUsage,
    cameraConnections: subscriptions.map(cameraConnection),
  };
}
