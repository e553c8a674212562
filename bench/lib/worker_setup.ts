/**
 * What the worker and memory benches both do to `detector run`: its arguments (loopback, no poll
 * pause, per-frame events, spool and models in `dir`, the analysis size) and one subscription per RTSP camera on one
 * archive.
 */
import type { BackendClient } from "../../tests/harness/backend_client.ts";

export function runBenchArgs(dir: string, analysisSize = "640"): string[] {
  return [
    "run",
    "--host",
    "127.0.0.1",
    "--poll-interval",
    "0",
    "--model-dir",
    `${dir}/models`,
    "--spool-dir",
    `${dir}/spool`,
    "--tracking",
    "per-frame",
    "--analysis-size",
    analysisSize,
  ];
}

/** Subscribes every camera to `archive`; returns the subscription identifiers, camera by camera. */
export function subscribeCameras(
  backend: BackendClient,
  cameras: readonly { url: string }[],
  archive: string,
): string[] {
  const ids = cameras.map((_, i) => `display-${i};cam-${i}`);
  backend.send({
    type: "setSubscriptionList",
    subscriptions: cameras.map((c, i) => ({
      subscriptionIdentifier: ids[i],
      rtspUrl: c.url,
      modelUrl: archive,
      modelId: 1,
      modelName: "YOLOv8n",
    })),
  });
  return ids;
}
