import type { FrameCache } from "../core/mod.ts";
import { logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { type ConnectSettings, resolveConnect } from "./connect_settings.ts";
import { CacheFrameSource } from "./frame_source.ts";
import { PrusaUploader } from "./uploader.ts";

const log = logger("prusa");

/** The uploader inside `serve` (its `--prusa-*` settings). */
export interface PrusaServeSettings {
  connect: Omit<ConnectSettings, "prefix" | "dryRun">;
  /** Camera to upload; default the first. */
  camera?: string;
  intervalMs: number;
  maxAgeMs: number;
  maxBytes: number;
}

export interface PrusaConsumer {
  start(): void;
  stop(): Promise<void>;
}

/**
 * Prepares the uploader as a consumer of serve's frame cache (no HTTP hop, no second camera
 * reader). Throws on bad settings so that serve refuses to start with a broken uploader.
 */
export async function preparePrusaConsumer(
  s: PrusaServeSettings,
  cache: FrameCache,
  cameras: string[],
  metrics: Metrics,
): Promise<PrusaConsumer> {
  const camera = s.camera ?? cameras[0];
  if (!camera || !cameras.includes(camera)) {
    throw new Error(
      `--prusa-camera "${camera ?? ""}" is not one of the cameras: ${cameras.join(", ")}`,
    );
  }
  const settings: ConnectSettings = { prefix: "--prusa-", ...s.connect };
  const connect = await resolveConnect(settings);
  const frames = new CacheFrameSource(
    cache,
    camera,
    Math.max(1000, s.intervalMs),
    Math.min(5000, s.intervalMs / 2),
    `camera ${camera}`,
  );
  const uploader = new PrusaUploader({
    client: connect.client,
    reloadClient: async () => (await resolveConnect(settings)).client!,
    frames,
    name: camera,
    metrics,
    intervalMs: s.intervalMs,
    maxAgeMs: s.maxAgeMs,
    maxBytes: s.maxBytes,
    retries: 0,
    authRetryMs: 600_000,
    maxBackoffMs: 300_000,
  });
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  return {
    start() {
      log.info("uploading to Prusa Connect", { camera, intervalMs: s.intervalMs });
      running = uploader.run(abort.signal);
    },
    async stop() {
      abort.abort();
      await running;
    },
  };
}
