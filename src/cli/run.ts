import type { Command } from "commander";
import { FrameCache } from "../core/frame_cache.ts";
import { logger } from "../core/log.ts";
import type { ServeContext } from "../http/context.ts";
import { Router } from "../http/router.ts";
import { opsRoutes } from "../http/routes/ops_routes.ts";
import { startHttpServer } from "../http/server.ts";
import { openArchive } from "../mpta/archive.ts";
import { createPipelineRunner } from "../pipeline/runner.ts";
import { SharedReaders } from "../sources/shared_readers.ts";
import {
  configFileKeys,
  defaults,
  minRunIntervalMs,
  readConfigFile,
  resolveRunConfig,
  type RunConfig,
  type RunFlags,
} from "../worker/config.ts";
import { ModelStore } from "../worker/model_store.ts";
import { PipelinePool } from "../worker/pipeline_pool.ts";
import { WorkerDaemon } from "../worker/worker_daemon.ts";
import { parseDuration, parseNumber } from "./env.ts";
import { onShutdown } from "./shutdown.ts";

const log = logger("run");

function oneOf(flag: string, values: string[]) {
  return (v: string) => {
    if (!values.includes(v)) {
      throw new Error(`${flag} expects one of ${values.join(", ")}, got "${v}"`);
    }
    return v;
  };
}

export function registerRun(program: Command): void {
  program.command("run")
    .description(
      "The CMS worker: a backend connects over WebSocket, subscribes cameras with .mpta models, " +
        "and receives detections and heartbeats.",
    )
    .option("-c, --config <file>", "config.json (the original worker's keys are accepted)")
    .option("--host <addr>", `address to bind (env HOST, default ${defaults.host})`)
    .option(
      "-p, --port <n>",
      "TCP port, 0 = any free port (env PORT, default 8000)",
      parseNumber("--port", 0, 65535),
    )
    .option("--heartbeat <dur>", "stateReport period (default 2s)", parseDuration("--heartbeat"))
    .option(
      "--grace <dur>",
      "keep subscriptions this long after the backend disconnects (default 30s)",
      parseDuration("--grace"),
    )
    .option(
      "--max-streams <n>",
      "most subscriptions at once (max_streams, default 20)",
      parseNumber("--max-streams", 1, 10_000),
    )
    .option(
      "--poll-interval <ms>",
      "least ms between two pipeline runs of a subscription (poll_interval_ms, default 100)",
      parseNumber("--poll-interval", 0),
    )
    .option(
      "--target-fps <n>",
      "most pipeline runs per second per subscription, 0 = no bound (target_fps, env TARGET_FPS)",
      parseNumber("--target-fps", 0, 120),
    )
    .option(
      "--reconnect-interval <s>",
      "first delay before a camera reconnects (reconnect_interval_sec, default 5)",
      parseNumber("--reconnect-interval", 0.05, 3600),
    )
    .option(
      "--max-retries <n>",
      "camera reconnects before giving up, -1 = forever (max_retries)",
      parseNumber("--max-retries", -1),
    )
    .option(
      "--model-dir <dir>",
      "downloaded .mpta archives (env DETECTOR_MODEL_CACHE, default ./models)",
    )
    .option(
      "--spool-dir <dir>",
      "failed Redis/PostgreSQL writes wait here (env DETECTOR_SPOOL_DIR, default ./spool)",
    )
    .option(
      "--threads <n>",
      "inference threads per model (env DETECTOR_THREADS, default: all cores)",
      parseNumber("--threads", 1, 256),
    )
    .option(
      "--backend <name>",
      "inference backend: auto, native or wasm (env DETECTOR_BACKEND)",
      oneOf("--backend", ["auto", "native", "wasm"]),
    )
    .option(
      "--model-timeout <dur>",
      "a model download that stalls this long fails (default 60s)",
      parseDuration("--model-timeout"),
    )
    .option(
      "--max-model-bytes <n>",
      "largest .mpta accepted (default 512 MiB)",
      parseNumber("--max-model-bytes", 1024),
    )
    .option(
      "--tracking <mode>",
      "bytetrack (one session per vehicle) or per-frame (the original)",
      oneOf("--tracking", ["bytetrack", "per-frame"]),
    )
    .option(
      "--session-cooldown <dur>",
      "see `detector replay --help` (default 10s)",
      parseDuration("--session-cooldown"),
    )
    .addHelpText(
      "after",
      `
config.json keys: ${configFileKeys.join(", ")}
Precedence: flags > environment > config file > defaults.

Protocol: WebSocket at ws://HOST:PORT/ (see PROTOCOL.md); on the same port
  GET /camera/{subscriptionIdentifier}/image   latest cropped frame (JPEG)
  GET /healthz   GET /metrics

Examples:
  detector run
  detector run --config config.json --port 8000 --heartbeat 2s
  TARGET_FPS=5 detector run --max-streams 8 --spool-dir /var/spool/detector`,
    )
    .action(async (opts) => {
      const file = opts.config ? await readConfigFile(opts.config) : {};
      const flags: RunFlags = {
        host: opts.host,
        port: opts.port,
        heartbeatMs: opts.heartbeat,
        graceMs: opts.grace,
        maxStreams: opts.maxStreams,
        pollIntervalMs: opts.pollInterval,
        targetFps: opts.targetFps,
        reconnectIntervalSec: opts.reconnectInterval,
        maxRetries: opts.maxRetries,
        modelDir: opts.modelDir,
        spoolDir: opts.spoolDir,
        threads: opts.threads,
        backend: opts.backend,
        modelTimeoutMs: opts.modelTimeout,
        maxModelBytes: opts.maxModelBytes,
        tracking: opts.tracking,
        sessionCooldownMs: opts.sessionCooldown,
      };
      const { config, unknownKeys } = resolveRunConfig(
        flags,
        (n) => Deno.env.get(n),
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
    maxRetries: config.maxRetries,
    timeoutMs: 10_000,
    reconnectMs: config.reconnectIntervalSec * 1000,
    fps: config.targetFps > 0 ? config.targetFps : undefined,
  });
  const store = new ModelStore({
    dir: config.modelDir,
    timeoutMs: config.modelTimeoutMs,
    maxBytes: config.maxModelBytes,
  });
  const pipelines = new PipelinePool(
    store,
    (path) => openArchive(path),
    (archive) =>
      createPipelineRunner(archive, {
        backend: config.backend,
        threads: config.threads,
        spoolDir: config.spoolDir,
        tracking: config.tracking,
        sessionCooldownMs: config.sessionCooldownMs,
      }),
  );
  const daemon = new WorkerDaemon({
    cache,
    readers,
    pipelines,
    settings: {
      heartbeatMs: config.heartbeatMs,
      graceMs: config.graceMs,
      maxStreams: config.maxStreams,
      minIntervalMs: minRunIntervalMs(config),
    },
  });
  const shutdownController = new AbortController();
  const ctx: ServeContext = {
    cache,
    targetFps: config.targetFps || 30,
    shutdown: shutdownController.signal,
    defaultCamera: () => undefined,
  };
  await daemon.start();
  const server = startHttpServer(
    new Router().add(...daemon.routes(), ...opsRoutes(ctx)),
    config.host,
    config.port,
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
  });
  if (config.host === "0.0.0.0" || config.host === "::") {
    log.warn("bound to all interfaces: any host that can reach this port can act as the backend");
  }
  await server.finished;
}
