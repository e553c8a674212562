import type { Command } from "commander";
import { commandSettings, processEnv } from "../config/mod.ts";
import { FrameCache } from "../core/frame_cache.ts";
import { logger } from "../core/log.ts";
import { redactUrl } from "../core/redact.ts";
import { historyRoutes } from "../history/history_routes.ts";
import type { ServeContext } from "../http/context.ts";
import { serveRouter } from "../http/serve_routes.ts";
import { startHttpServer } from "../http/server.ts";
import { createSource, parseNamedSource, sourceKinds } from "../sources/registry.ts";
import type { Source, SourceOptions } from "../sources/source.ts";
import { onShutdown } from "./shutdown.ts";
import { ffmpegKeys, ffmpegSourceOptions } from "./ffmpeg_options.ts";
import { connectKeys, connectSettings } from "./prusa_connect.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";
import { stopAllChildren } from "../sources/ffmpeg_process.ts";
import { ingestConfigured, PUSH_MAX_FRAME_BYTES, startIngest } from "../push/ingest_setup.ts";
import { pushRoutes } from "../push/push_routes.ts";
import { uploadRoutes } from "../push/upload_routes.ts";
import { preparePrusaConsumer, type PrusaServeSettings } from "../prusa/serve_consumer.ts";

export interface ServeOptions {
  source: string[];
  /** Served as camera "frames" when no source is given (FRAMES_DIR_ABS). */
  framesDir?: string;
  host: string;
  port: number;
  targetFps: number;
  maxFrameAgeMs: number;
  snapshotIntervalMs: number;
  timeoutMs: number;
  maxFrameBytes: number;
  /** Prusa Connect uploader fed from the cache, when --prusa-token/--prusa-camera is given. */
  prusa?: PrusaServeSettings;
  /** Push ingest (WebSocket, upload, MQTT) and history; see src/push/ingest_setup.ts. */
  pushSecret?: string;
  uploadToken?: string;
  mqtt: string[];
  history?: string;
  historyKeep: number;
  historyIntervalMs: number;
  pushMaxFrameBytes: number;
  pushMaxMessages: number;
  /** ffmpeg sources: stall timeout, RTSP transport, MJPEG quality, max retries. */
  ffmpeg: Pick<SourceOptions, "stallTimeoutMs" | "rtspTransport" | "jpegQuality" | "maxRetries">;
}

const log = logger("serve");

const prusaKeys = [
  ...connectKeys,
  "prusaCamera",
  "prusaInterval",
  "prusaMaxAge",
  "prusaMaxBytes",
] as const;

export const serveSettings = commandSettings([
  "source",
  "host",
  "port",
  "targetFps",
  "maxFrameAge",
  "snapshotInterval",
  "sourceTimeout",
  "maxFrameBytes",
  "pushSecret",
  "uploadToken",
  "mqtt",
  "historyDir",
  "historyKeep",
  "historyInterval",
  "pushMaxMessages",
  "framesDir",
  ...prusaKeys,
  ...ffmpegKeys,
  "maxRetries",
], {
  prefix: Object.fromEntries(prusaKeys.map((k) => [k, "prusa-"])),
  // serve uploads continuously; `prusa upload` without --interval uploads once.
  defaults: { prusaInterval: 10_000 },
});

export function registerServe(program: Command): void {
  const serve = program.command("serve")
    .description(
      "Serve the newest frame of each camera: MJPEG streams, snapshots, SSE events, a live viewer.",
    );
  addSettingOptions(serve, serveSettings)
    .addHelpText(
      "after",
      `
SPEC forms of --source:
${sourceKinds.map((k) => `  ${k.example}`).join("\n")}

Environment (the MJPEG server's names are honoured; flags win):
  FRAMES_DIR_ABS   watched folder, used as camera "frames" when no --source is given
  TARGET_FPS       default 30      MAX_FRAME_AGE_S  default 10s
  HOST             default 127.0.0.1 (deny-by-default)   PORT  default 8080

Routes: /  /stream.mjpg  /snapshot.jpg  /cameras  /cameras/NAME/stream.mjpg
        /cameras/NAME/snapshot.jpg  /cameras/NAME/events  /healthz  /metrics
Push:   /push (WebSocket)  POST /api/clients/NAME/screenshot  POST /cameras/NAME/image
        POST /update-image  /list  /screenshots/NAME  /cameras/NAME/events?images=1
        /cameras/NAME/history  /cameras/NAME/history/MS.jpg

Examples:
  detector serve --source demo=testpattern:
  detector serve --source printer=tcp://127.0.0.1:9000 --port 8081
  FRAMES_DIR_ABS=/srv/frames TARGET_FPS=20 detector serve --host 0.0.0.0
  DETECTOR_PUSH_SECRET=s3cret detector serve --history /srv/shots --mqtt 'mqtt://broker:1883/infoscreen/+/screenshot'`,
    )
    .action(async (_opts, cmd: Command) => {
      const { values: v, origins } = resolveCommand(cmd, serveSettings);
      const prusaOn = origins.prusaToken === "flag" || origins.prusaTokenFile === "flag" ||
        origins.prusaCamera === "flag";
      await runServe({
        source: v.source,
        framesDir: v.framesDir,
        host: v.host,
        port: v.port,
        targetFps: v.targetFps,
        maxFrameAgeMs: v.maxFrameAge,
        snapshotIntervalMs: v.snapshotInterval,
        timeoutMs: v.sourceTimeout,
        maxFrameBytes: v.maxFrameBytes,
        pushSecret: v.pushSecret,
        uploadToken: v.uploadToken,
        mqtt: v.mqtt,
        history: v.historyDir,
        historyKeep: v.historyKeep,
        historyIntervalMs: v.historyInterval,
        pushMaxMessages: v.pushMaxMessages,
        pushMaxFrameBytes: origins.maxFrameBytes === "default"
          ? PUSH_MAX_FRAME_BYTES
          : v.maxFrameBytes,
        prusa: prusaOn
          ? {
            connect: connectSettings(v, origins, processEnv),
            camera: v.prusaCamera,
            intervalMs: v.prusaInterval!,
            maxAgeMs: v.prusaMaxAge,
            maxBytes: v.prusaMaxBytes,
          }
          : undefined,
        ffmpeg: { ...ffmpegSourceOptions(v), maxRetries: v.maxRetries },
      });
    });
}

export function sourceArgs(opts: ServeOptions): { name: string; spec: string }[] {
  const named = opts.source.map(parseNamedSource);
  const framesDir = opts.framesDir;
  if (named.length === 0 && framesDir) named.push({ name: "frames", spec: `dir:${framesDir}` });
  const seen = new Set<string>();
  for (const { name } of named) {
    if (seen.has(name)) throw new Error(`camera name "${name}" is given twice`);
    seen.add(name);
  }
  return named;
}

export async function runServe(opts: ServeOptions): Promise<void> {
  const named = sourceArgs(opts);
  const ingestOn = ingestConfigured({ ...opts, historyDir: opts.history });
  if (named.length === 0 && !ingestOn) {
    throw new Error(
      "no cameras: give --source NAME=SPEC (try --source demo=testpattern:), set FRAMES_DIR_ABS, " +
        "or receive pushed frames (--push-secret, --upload-token, --mqtt, --history)",
    );
  }
  const cache = new FrameCache();
  const sources: Source[] = named.map(({ name, spec }) =>
    createSource(name, spec, cache, {
      intervalMs: opts.snapshotIntervalMs,
      timeoutMs: opts.timeoutMs,
      maxFrameAgeS: opts.maxFrameAgeMs / 1000,
      maxFrameBytes: opts.maxFrameBytes,
      ...opts.ffmpeg,
    })
  );
  const shutdownController = new AbortController();
  const ctx: ServeContext = {
    cache,
    targetFps: opts.targetFps,
    shutdown: shutdownController.signal,
    defaultCamera: () => named[0]?.name ?? cache.cameras()[0],
  };
  const pulled = new Set(named.map((n) => n.name));
  const ingest = await startIngest(cache, {
    pushSecret: opts.pushSecret,
    uploadToken: opts.uploadToken,
    mqtt: opts.mqtt,
    historyDir: opts.history,
    historyKeep: opts.historyKeep,
    historyIntervalMs: opts.historyIntervalMs,
    maxFrameBytes: opts.pushMaxFrameBytes,
    maxMessagesPerSecond: opts.pushMaxMessages,
    pulled: (camera) => pulled.has(camera),
    host: opts.host,
  });
  const prusa = opts.prusa &&
    await preparePrusaConsumer(opts.prusa, cache, named.map((n) => n.name));
  const routes = serveRouter(ctx, [
    ...pushRoutes(ctx, ingest.services),
    ...uploadRoutes(ingest.services),
    ...historyRoutes(ctx, ingest.services.history),
  ]);
  const server = startHttpServer(routes, opts.host, opts.port);
  for (const s of sources) s.start();
  prusa?.start();
  onShutdown(stopAllChildren);
  onShutdown(async () => {
    shutdownController.abort();
    await prusa?.stop();
    await Promise.all(sources.map((s) => s.stop()));
    await ingest.stop();
    await server.shutdown();
  });
  log.info(`listening on ${server.url}`, {
    cameras: named.map((n) => `${n.name}=${redactUrl(n.spec)}`).join(" "),
    targetFps: opts.targetFps,
    maxFrameAgeS: opts.maxFrameAgeMs / 1000,
  });
  if (opts.host === "0.0.0.0" || opts.host === "::") {
    log.warn("bound to all interfaces: every host that can reach this port sees the cameras");
  }
  await server.finished;
}
