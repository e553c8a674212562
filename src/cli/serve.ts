import type { Command } from "commander";
import { FrameCache } from "../core/frame_cache.ts";
import { logger } from "../core/log.ts";
import { redactUrl } from "../core/redact.ts";
import type { ServeContext } from "../http/context.ts";
import { serveRouter } from "../http/serve_routes.ts";
import { startHttpServer } from "../http/server.ts";
import { createSource, parseNamedSource, sourceKinds } from "../sources/registry.ts";
import type { Source } from "../sources/source.ts";
import { collect, envString, parseDuration, parseNumber } from "./env.ts";
import { onShutdown } from "./shutdown.ts";
import { addFfmpegOptions, type FfmpegCliSettings, ffmpegCliSettings } from "./ffmpeg_options.ts";
import { stopAllChildren } from "../sources/ffmpeg_process.ts";
import { ingestConfigured, PUSH_MAX_FRAME_BYTES, startIngest } from "../push/ingest_setup.ts";
import {
  addPrusaServeOptions,
  preparePrusaConsumer,
  type PrusaServeSettings,
  prusaServeSettings,
} from "../prusa/serve_consumer.ts";

export interface ServeOptions {
  source: string[];
  host: string;
  port: number;
  targetFps: number;
  /** dir: sources delete JPEG files older than this (s); unset = never delete. */
  maxFrameAge?: number;
  /** `/healthz` answers 503 while any camera is down. */
  healthzStrict?: boolean;
  snapshotInterval: number;
  timeout: number;
  maxFrameBytes: number;
  /** Prusa Connect uploader fed from the cache, when --prusa-token/--prusa-camera is given. */
  prusa?: PrusaServeSettings;
  /** Push ingest (WebSocket, upload, MQTT) and history; see src/push/ingest_setup.ts. */
  pushSecret?: string;
  uploadToken?: string;
  mqtt?: string[];
  history?: string;
  historyKeep?: number;
  historyIntervalMs?: number;
  pushMaxFrameBytes?: number;
  pushMaxMessages?: number;
  /** ffmpeg sources: stall timeout, RTSP transport, MJPEG quality, max retries. */
  ffmpeg?: FfmpegCliSettings;
}

const log = logger("serve");

export function registerServe(program: Command): void {
  const serve = program.command("serve")
    .description(
      "Serve the newest frame of each camera: MJPEG streams, snapshots, SSE events, a live viewer.",
    )
    .option(
      "-s, --source <NAME=SPEC>",
      "add a camera (repeatable). SPEC forms:\n" +
        sourceKinds.map((k) => `  ${k.example}`).join("\n"),
      collect,
      [],
    )
    .option("--host <addr>", "address to bind; 0.0.0.0 exposes to the network (env HOST)")
    .option(
      "-p, --port <n>",
      "TCP port, 0 = any free port (env PORT)",
      parseNumber("--port", 0, 65535),
    )
    .option(
      "--target-fps <n>",
      "upper bound of frames per second sent to any client (env TARGET_FPS)",
      parseNumber("--target-fps", 0.1, 120),
    )
    .option(
      "--max-frame-age <s>",
      "dir: sources delete JPEG files older than this many seconds, files already in the folder " +
        "included; unset or 0 deletes nothing (env MAX_FRAME_AGE_S, per folder #max-age=)",
      parseNumber("--max-frame-age", 0),
    )
    .option(
      "--healthz-strict",
      "/healthz answers 503 while any camera is down (for load balancers and watchdogs; " +
        "env DETECTOR_HEALTHZ_STRICT=1)",
    )
    .option(
      "--snapshot-interval <dur>",
      "polling period of http(s):// snapshot sources",
      parseDuration("--snapshot-interval"),
      1000,
    )
    .option(
      "--timeout <dur>",
      "connect/request timeout of network sources",
      parseDuration("--timeout"),
      10_000,
    )
    .option(
      "--max-frame-bytes <n>",
      "largest JPEG accepted from any source",
      parseNumber("--max-frame-bytes", 1024),
      16 * 1024 * 1024,
    )
    .option(
      "--push-secret <secret>",
      "turns on WebSocket push at /push; a camera's token is HMAC-SHA256(secret, id), see " +
        "`detector token` (env DETECTOR_PUSH_SECRET)",
    )
    .option(
      "--upload-token <token>",
      "HTTP uploads must send Authorization: Bearer TOKEN (env DETECTOR_UPLOAD_TOKEN)",
    )
    .option(
      "--mqtt <URL>",
      "subscribe to screenshots, e.g. mqtt://user:pass@host:1883/infoscreen/+/screenshot; " +
        "the + level names the camera (repeatable)",
      collect,
      [],
    )
    .option(
      "--history <dir>",
      "keep {camera}.jpg and timestamped {camera}_{ms}.jpg files here, reloaded on restart " +
        "(env DETECTOR_HISTORY_DIR)",
    )
    .option(
      "--history-keep <n>",
      "timestamped frames kept per camera",
      parseNumber("--history-keep", 1, 1_000_000),
      20,
    )
    .option(
      "--history-interval <dur>",
      "at most one history frame per camera per this period, so a 30 fps camera does not fill " +
        "the history in a second; 0 keeps every frame",
      parseDuration("--history-interval"),
      1000,
    )
    .option(
      "--push-max-messages <n>",
      "WebSocket push messages per second taken from all cameras together; a camera over its " +
        "share is disconnected, 0 = no cap (env DETECTOR_PUSH_MAX_MESSAGES, default 20000)",
      parseNumber("--push-max-messages", 0),
    )
    .addHelpText(
      "after",
      `
Environment (the MJPEG server's names are honoured; flags win):
  FRAMES_DIR_ABS   watched folder, used as camera "frames" when no --source is given
  TARGET_FPS       default 30      MAX_FRAME_AGE_S  default 10
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
    .action(async (opts, cmd: Command) => {
      await runServe({
        source: opts.source,
        host: opts.host ?? envString("HOST") ?? "127.0.0.1",
        port: opts.port ?? envIn("PORT", 0, 65535) ?? 8080,
        targetFps: opts.targetFps ?? envIn("TARGET_FPS", 0.1, 120) ?? 30,
        maxFrameAge: opts.maxFrameAge ?? envIn("MAX_FRAME_AGE_S", 0),
        healthzStrict: opts.healthzStrict ?? envFlag("DETECTOR_HEALTHZ_STRICT"),
        snapshotInterval: opts.snapshotInterval,
        timeout: opts.timeout,
        maxFrameBytes: opts.maxFrameBytes,
        pushSecret: opts.pushSecret ?? envString("DETECTOR_PUSH_SECRET"),
        uploadToken: opts.uploadToken ?? envString("DETECTOR_UPLOAD_TOKEN"),
        mqtt: opts.mqtt,
        history: opts.history ?? envString("DETECTOR_HISTORY_DIR"),
        historyKeep: opts.historyKeep,
        historyIntervalMs: opts.historyInterval,
        pushMaxMessages: opts.pushMaxMessages ?? envIn("DETECTOR_PUSH_MAX_MESSAGES", 0),
        pushMaxFrameBytes: cmd.getOptionValueSource("maxFrameBytes") === "default"
          ? PUSH_MAX_FRAME_BYTES
          : opts.maxFrameBytes,
        prusa: prusaServeSettings(opts),
        ffmpeg: ffmpegCliSettings(opts),
      });
    });
  addPrusaServeOptions(serve);
  addFfmpegOptions(serve);
}

function envFlag(name: string): boolean | undefined {
  const raw = envString(name)?.trim().toLowerCase();
  if (raw === undefined) return undefined;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new Error(`${name} expects 1 or 0, got "${raw}"`);
}

/** An environment number checked like the flag it stands for; the error names the variable. */
function envIn(name: string, min: number, max = Infinity): number | undefined {
  const raw = envString(name);
  return raw === undefined ? undefined : parseNumber(name, min, max)(raw.trim());
}

export function sourceArgs(opts: ServeOptions): { name: string; spec: string }[] {
  const named = opts.source.map(parseNamedSource);
  const framesDir = envString("FRAMES_DIR_ABS");
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
  const ingestOn = ingestConfigured({ ...opts, mqtt: opts.mqtt ?? [], historyDir: opts.history });
  if (named.length === 0 && !ingestOn) {
    throw new Error(
      "no cameras: give --source NAME=SPEC (try --source demo=testpattern:), set FRAMES_DIR_ABS, " +
        "or receive pushed frames (--push-secret, --upload-token, --mqtt, --history)",
    );
  }
  const cache = new FrameCache();
  const sources: Source[] = named.map(({ name, spec }) =>
    createSource(name, spec, cache, {
      intervalMs: opts.snapshotInterval,
      timeoutMs: opts.timeout,
      maxFrameAgeS: opts.maxFrameAge,
      maxFrameBytes: opts.maxFrameBytes,
      ...opts.ffmpeg,
    })
  );
  const shutdownController = new AbortController();
  const ctx: ServeContext = {
    cache,
    targetFps: opts.targetFps,
    healthzStrict: opts.healthzStrict,
    shutdown: shutdownController.signal,
    defaultCamera: () => named[0]?.name ?? cache.cameras()[0],
  };
  const pulled = new Set(named.map((n) => n.name));
  const ingest = await startIngest(cache, {
    pushSecret: opts.pushSecret,
    uploadToken: opts.uploadToken,
    mqtt: opts.mqtt ?? [],
    historyDir: opts.history,
    historyKeep: opts.historyKeep ?? 20,
    historyIntervalMs: opts.historyIntervalMs ?? 1000,
    maxFrameBytes: opts.pushMaxFrameBytes ?? PUSH_MAX_FRAME_BYTES,
    maxMessagesPerSecond: opts.pushMaxMessages,
    pulled: (camera) => pulled.has(camera),
    host: opts.host,
  });
  const prusa = opts.prusa &&
    await preparePrusaConsumer(opts.prusa, cache, named.map((n) => n.name));
  const server = startHttpServer(serveRouter(ctx, ingest.services), opts.host, opts.port);
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
    maxFrameAgeS: opts.maxFrameAge ?? "unset",
  });
  if (opts.host === "0.0.0.0" || opts.host === "::") {
    log.warn("bound to all interfaces: every host that can reach this port sees the cameras");
  }
  await server.finished;
}
