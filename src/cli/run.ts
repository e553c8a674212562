import type { Command } from "commander";
import { FrameCache } from "../core/mod.ts";
import { logger } from "../core/mod.ts";
import { metrics } from "./metrics_registry.ts";
import type { ServeContext } from "../http/mod.ts";
import { Router } from "../http/mod.ts";
import { opsRoutes } from "../http/mod.ts";
import { startHttpServer } from "../http/mod.ts";
import { openArchive } from "../mpta/mod.ts";
import { createPipelineRunner } from "../pipeline/mod.ts";
import { collectFfmpegChildren } from "../sources/mod.ts";
import { SharedReaders } from "../sources/mod.ts";
import { ModelStore } from "../worker/mod.ts";
import { PipelinePool } from "../worker/mod.ts";
import { WorkerDaemon } from "../worker/mod.ts";
import { processEnv } from "../config/mod.ts";
import {
  configFileKeys,
  minRunIntervalMs,
  readConfigFile,
  resolveRunConfig,
  type RunConfig,
  runSettings,
} from "./run_config.ts";
import { addSettingOptions, settingFlags } from "./setting_options.ts";
import { onShutdown } from "./shutdown.ts";

const log = logger("run");

export function registerRun(program: Command): void {
  const run = program.command("run")
    .description(
      "The CMS worker: a backend connects over WebSocket, subscribes cameras with .mpta models, " +
        "and receives detections and heartbeats.",
    )
    .option("-c, --config <file>", "config.json (the original worker's keys are accepted)");
  addSettingOptions(run, runSettings)
    .addHelpText(
      "after",
      `
config.json keys: ${configFileKeys.join(", ")}
Precedence: flags > environment > config file > defaults.

Protocol: WebSocket at ws://HOST:PORT/ (see docs/protocol.md); on the same port
  GET /camera/{subscriptionIdentifier}/image   latest cropped frame (JPEG)
  GET /healthz   GET /metrics

Frames: cameras read by ffmpeg (rtsp, rtmp, srt, udp, http(s) video) arrive as raw RGB at the
camera's own size, no JPEG encode; a JPEG is made only for the image route and saved crops.
Boxes and crops are in the camera's pixels. Per camera the newest frame is kept, no queue.

Examples:
  detector run
  detector run --config config.json --port 8000 --heartbeat 2s
  DETECTOR_BACKEND_TOKEN=s3cret detector run --allow-hosts '*.cams.lan,models.example.com:443'
  TARGET_FPS=5 detector run --max-streams 8 --spool-dir /var/spool/detector`,
    )
    .action(async (opts, cmd: Command) => {
      const file = opts.config ? await readConfigFile(opts.config) : {};
      const { config, unknownKeys } = resolveRunConfig(
        settingFlags(cmd, runSettings),
        processEnv,
        file,
        opts.config,
      );
      if (unknownKeys.length) {
        log.warn("config file keys not known to this version are ignored", {
          file: opts.config,
          keys: unknownKeys.join(","),
        });
      }
      await runWorker(config);
    });
}

export async function runWorker(config: RunConfig): Promise<void> {
  const cache = new FrameCache();
  const readers = new SharedReaders(cache, {
    metrics,
    maxRetries: config.maxRetries,
    timeoutMs: config.timeoutMs,
    reconnectMs: config.reconnectIntervalSec * 1000,
    stallTimeoutMs: config.stallTimeoutMs,
    firstFrameTimeoutMs: config.firstFrameTimeoutMs,
    rtspTransport: config.rtspTransport,
    jpegQuality: config.jpegQuality,
    // Pipelines take raw pixels: no MJPEG encode in ffmpeg and no JPEG decode per frame.
    output: "rgb",
    analysisSize: config.analysisSize === "full" ? undefined : config.analysisSize,
  });
  const store = new ModelStore({
    dir: config.modelDir,
    timeoutMs: config.modelTimeoutMs,
    maxBytes: config.maxModelBytes,
    metrics,
  });
  const pipelines = new PipelinePool(
    store,
    (path) => openArchive(path, { metrics }),
    (archive) =>
      createPipelineRunner(archive, {
        backend: config.backend,
        threads: config.threads,
        spoolDir: config.spoolDir,
        spoolMaxEntries: config.spoolMaxEntries,
        spoolMaxBytes: config.spoolMaxBytes,
        redisUrl: config.redisUrl,
        postgresUrl: config.postgresUrl,
        tracking: config.tracking,
        sessionCooldownMs: config.sessionCooldownMs,
        metrics,
      }),
  );
  const daemon = new WorkerDaemon({
    cache,
    readers,
    pipelines,
    metrics,
    settings: {
      heartbeatMs: config.heartbeatMs,
      graceMs: config.graceMs,
      maxStreams: config.maxStreams,
      minIntervalMs: minRunIntervalMs(config),
      backendToken: config.backendToken,
      urlPolicy: config.urlPolicy,
    },
  });
  const shutdownController = new AbortController();
  const ctx: ServeContext = {
    cache,
    targetFps: config.targetFps,
    shutdown: shutdownController.signal,
    defaultCamera: () => undefined,
    metrics,
  };
  collectFfmpegChildren(metrics);
  await daemon.start();
  const server = startHttpServer(
    new Router(metrics).add(...daemon.routes(), ...opsRoutes(ctx)),
    config.host,
    config.port,
    config.http,
  );
  onShutdown(async () => {
    shutdownController.abort();
    await daemon.stop();
    await server.shutdown();
  });
  log.info(`listening on ${server.url}`, {
    websocket: server.url.replace(/^http/, "ws") + "/",
    backend: config.backend,
    threads: config.threads ?? "all cores",
    spool: config.spoolDir,
    models: config.modelDir,
    maxStreams: config.maxStreams,
    heartbeatMs: config.heartbeatMs,
    graceMs: config.graceMs,
  });
  log.info("settings", {
    pollIntervalMs: config.pollIntervalMs,
    targetFps: config.targetFps,
    reconnectIntervalSec: config.reconnectIntervalSec,
    maxRetries: config.maxRetries,
    tracking: config.tracking,
    stallTimeoutMs: config.stallTimeoutMs,
    analysisSize: config.analysisSize,
  });
  if (!config.backendToken) {
    log.warn(
      `no --backend-token: any client that reaches ${server.url} can act as the backend and ` +
        "make this worker download models and open streams",
    );
  }
  await server.finished;
}
