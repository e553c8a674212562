import type { Command } from "commander";
import { commandSettings, ConfigError, processEnv } from "../config/mod.ts";
import { fixMmapThreshold, FrameCache } from "../core/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";
import { historyRoutes } from "../history/mod.ts";
import { expandSecretRefs, readSecretsFile } from "../core/mod.ts";
import type { BodyBudgetLimits } from "../push/mod.ts";
import type { ConnectionLimits } from "../http/mod.ts";
import type { ServeContext } from "../http/mod.ts";
import { serveRouter } from "../http/mod.ts";
import { AccessGuard, isLoopback } from "../http/mod.ts";
import { readCredentialsFile } from "../auth/mod.ts";
import { startHttpServer } from "../http/mod.ts";
import { parseNamedSource, sourceKinds } from "../sources/mod.ts";
import type { SourceOptions } from "../sources/mod.ts";
import { CameraSet, type NamedSpec, type ReconcileResult } from "../sources/mod.ts";
import type { Route } from "../http/mod.ts";
import { json, jsonError } from "../http/mod.ts";
import { readCamerasFile } from "../config/mod.ts";
import { metrics } from "./metrics_registry.ts";
import { onShutdown } from "./shutdown.ts";
import { ffmpegKeys, ffmpegSourceOptions } from "./ffmpeg_options.ts";
import { httpKeys, httpLimits } from "./http_options.ts";
import { connectKeys, connectSettings } from "./prusa_connect.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";
import { collectFfmpegChildren, stopAllChildren } from "../sources/mod.ts";
import { ingestConfigured, PUSH_MAX_FRAME_BYTES, startIngest } from "../push/mod.ts";
import { pushRoutes } from "../push/mod.ts";
import { uploadRoutes } from "../push/mod.ts";
import { preparePrusaConsumer, type PrusaServeSettings } from "../prusa/mod.ts";

export interface ServeOptions {
  source: string[];
  /** Served as camera "frames" when no source is given (FRAMES_DIR_ABS). */
  framesDir?: string;
  host: string;
  port: number;
  targetFps: number;
  /** dir: sources delete JPEG files older than this (ms); unset = never delete. */
  maxFrameAgeMs?: number;
  /** `/healthz` answers 503 while any camera is down. */
  healthzStrict: boolean;
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
  /** Viewer access: `user:password` file (Basic), bearer tokens, and how /metrics is guarded. */
  authFile?: string;
  authTokens?: string[];
  metricsToken?: string;
  metricsOpen?: boolean;
  /** The cameras file: its cameras join the --source ones, and SIGHUP reloads them. */
  configFile?: string;
  fileCameras?: NamedSpec[];
  /** `POST /api/reload` reloads the cameras file too. */
  reloadApi?: boolean;
  /** Camera names pushes and uploads may create. */
  maxCameras: number;
  /** Bytes of upload bodies received at once: all clients, and one address. */
  bodyBudget: BodyBudgetLimits;
  /** KEY=VALUE file for `${KEY}` references in --source and --mqtt. */
  secretsFile?: string;
  /** Connection timeouts and cap of the HTTP port. */
  http: ConnectionLimits;
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
  "healthzStrict",
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
  "maxCameras",
  "maxBodyMemory",
  "maxBodyMemoryPerAddress",
  "secretsFile",
  "framesDir",
  "authFile",
  "authToken",
  "metricsToken",
  "metricsOpen",
  "reloadApi",
  ...prusaKeys,
  ...ffmpegKeys,
  ...httpKeys,
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
  serve.option(
    "-c, --config <file>",
    "cameras file (YAML or JSON): a cameras: map of NAME: SPEC, and settings named like their " +
      "flags; SIGHUP reloads its cameras",
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

Routes: /  /cameras/NAME/  /stream.mjpg  /snapshot.jpg  /cameras  /cameras/NAME/stream.mjpg
        /cameras/NAME/snapshot.jpg  /cameras/NAME/events  /healthz  /metrics
Push:   /push (WebSocket)  POST /api/clients/NAME/screenshot  POST /cameras/NAME/image
        POST /update-image  /list  /screenshots/NAME  /cameras/NAME/events?images=1
        /cameras/NAME/history  /cameras/NAME/history/MS.jpg

Examples:
  detector serve --source demo=testpattern:
  detector serve --source printer=tcp://127.0.0.1:9000 --port 8081
  FRAMES_DIR_ABS=/srv/frames TARGET_FPS=20 detector serve --host 0.0.0.0 --auth viewers.txt
  DETECTOR_PUSH_SECRET=s3cret detector serve --history /srv/shots --mqtt 'mqtt://broker:1883/infoscreen/+/screenshot'`,
    )
    .action(async (opts, cmd: Command) => {
      const file = opts.config ? await readCamerasFile(opts.config, processEnv) : undefined;
      const { values: v, origins, unknownFileKeys } = resolveCommand(
        cmd,
        serveSettings,
        file?.settings,
      );
      if (unknownFileKeys.length) {
        const key = unknownFileKeys[0];
        throw new ConfigError(
          `${opts.config}:${file!.settings.lines?.[key] ?? 0}: unknown key "${key}" (settings ` +
            "are named like serve's flags, cameras go under cameras:)",
        );
      }
      const prusaOn = origins.prusaToken === "flag" || origins.prusaTokenFile === "flag" ||
        origins.prusaCamera === "flag";
      await runServe({
        source: v.source,
        framesDir: v.framesDir,
        host: v.host,
        port: v.port,
        targetFps: v.targetFps,
        maxFrameAgeMs: v.maxFrameAge,
        healthzStrict: v.healthzStrict,
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
        authFile: v.authFile,
        authTokens: v.authToken,
        metricsToken: v.metricsToken,
        metricsOpen: v.metricsOpen,
        configFile: opts.config,
        reloadApi: v.reloadApi,
        fileCameras: file?.cameras,
        maxCameras: v.maxCameras,
        bodyBudget: {
          totalBytes: v.maxBodyMemory,
          perAddressBytes: v.maxBodyMemoryPerAddress,
        },
        secretsFile: v.secretsFile,
        http: httpLimits(v),
      });
    });
}

export function sourceArgs(opts: ServeOptions, fileCameras = opts.fileCameras ?? []): NamedSpec[] {
  const flagged = opts.source.map(parseNamedSource);
  // A --source of the same name wins over the file's camera.
  const named = [
    ...fileCameras.filter((c) => !flagged.some((f) => f.name === c.name))
      .map(({ name, spec }) => ({ name, spec })),
    ...flagged,
  ];
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
  if (processEnv("MALLOC_MMAP_THRESHOLD_") === undefined) fixMmapThreshold();
  const named = sourceArgs(opts);
  const ingestOn = ingestConfigured({ ...opts, historyDir: opts.history });
  if (named.length === 0 && !ingestOn) {
    throw new Error(
      "no cameras: give --source NAME=SPEC (try --source demo=testpattern:), set FRAMES_DIR_ABS, " +
        "or receive pushed frames (--push-secret, --upload-token, --mqtt, --history)",
    );
  }
  if (opts.reloadApi && !opts.configFile) {
    throw new ConfigError("--reload-api needs --config: there is no cameras file to reload");
  }
  const secrets = opts.secretsFile ? await readSecretsFile(opts.secretsFile) : undefined;
  const expand = (specs: NamedSpec[]) =>
    specs.map(({ name, spec }) => ({
      name,
      spec: expandSecretRefs(spec, `--source ${name}`, secrets, processEnv),
    }));
  const guard = new AccessGuard({
    users: opts.authFile ? await readCredentialsFile(opts.authFile) : undefined,
    tokens: opts.authTokens,
    metricsToken: opts.metricsToken,
    metricsOpen: opts.metricsOpen,
    metrics,
  });
  const cache = new FrameCache();
  const sources = new CameraSet(cache, {
    metrics,
    intervalMs: opts.snapshotIntervalMs,
    timeoutMs: opts.timeoutMs,
    maxFrameAgeS: opts.maxFrameAgeMs === undefined ? undefined : opts.maxFrameAgeMs / 1000,
    maxFrameBytes: opts.maxFrameBytes,
    ...opts.ffmpeg,
  });
  const shutdownController = new AbortController();
  const ctx: ServeContext = {
    cache,
    targetFps: opts.targetFps,
    healthzStrict: opts.healthzStrict,
    shutdown: shutdownController.signal,
    defaultCamera: () => sources.names()[0] ?? cache.cameras()[0],
    metrics,
  };

  const ingest = await startIngest(cache, {
    pushSecret: opts.pushSecret,
    uploadToken: opts.uploadToken,
    mqtt: opts.mqtt.map((u) => expandSecretRefs(u, "--mqtt", secrets, processEnv)),
    historyDir: opts.history,
    historyKeep: opts.historyKeep,
    historyIntervalMs: opts.historyIntervalMs,
    maxFrameBytes: opts.pushMaxFrameBytes,
    maxMessagesPerSecond: opts.pushMaxMessages,
    maxCameras: opts.maxCameras,
    pulled: (camera) => sources.has(camera),
    host: opts.host,
    metrics,
    bodyBudget: opts.bodyBudget,
  });
  const prusa = opts.prusa &&
    await preparePrusaConsumer(opts.prusa, cache, named.map((n) => n.name), metrics);
  const ingestRoutes = [
    ...pushRoutes(ctx, ingest.services),
    ...uploadRoutes(ingest.services),
    ...historyRoutes(ctx, ingest.services.history),
  ];
  const ownCredentials = (r: Route) =>
    r.path === "/push" || (r.method === "POST" && !!ingest.services.uploadToken);
  const router = serveRouter(ctx, {
    open: ingestRoutes.filter(ownCredentials),
    guarded: ingestRoutes.filter((r) => !ownCredentials(r)),
    guard,
  });
  if (opts.configFile) {
    const reload = reloader(opts, sources, expand);
    Deno.addSignalListener("SIGHUP", () => void reload().catch(() => {}));
    if (opts.reloadApi) router.add(guard.route(reloadRoute(reload)));
  }
  const server = startHttpServer(router, opts.host, opts.port, opts.http);
  await sources.reconcile(expand(named));
  prusa?.start();
  collectFfmpegChildren(metrics);
  onShutdown(stopAllChildren);
  onShutdown(async () => {
    shutdownController.abort();
    await prusa?.stop();
    await sources.stopAll();
    await ingest.stop();
    await server.shutdown();
  });
  log.info(`listening on ${server.url}`, {
    cameras: named.map((n) => `${n.name}=${redactUrl(n.spec)}`).join(" "),
    targetFps: opts.targetFps,
    maxFrameAgeS: opts.maxFrameAgeMs === undefined ? "unset" : opts.maxFrameAgeMs / 1000,
  });
  if (!isLoopback(opts.host) && !guard.protectsViewer) {
    log.warn(
      `bound to ${opts.host} without --auth or --auth-token: every host that can reach this ` +
        "port sees the cameras",
    );
  }
  await server.finished;
}

/**
 * Re-reads the cameras file and reconciles the cameras, one reload at a time; a bad file
 * changes nothing. Returns what changed, or throws with the file's error.
 */
function reloader(
  opts: ServeOptions,
  sources: CameraSet,
  expand: (specs: NamedSpec[]) => NamedSpec[],
): () => Promise<ReconcileResult> {
  let busy: Promise<unknown> = Promise.resolve();
  const once = async () => {
    try {
      const file = await readCamerasFile(opts.configFile!, processEnv);
      const r = await sources.reconcile(expand(sourceArgs(opts, file.cameras)));
      metrics.inc("detector_config_reloads_total", "Cameras file reloads", { result: "ok" });
      log.info("cameras file reloaded", {
        file: opts.configFile,
        added: r.added.join(",") || undefined,
        removed: r.removed.join(",") || undefined,
        restarted: r.restarted.join(",") || undefined,
        unchanged: r.unchanged.length,
      });
      return r;
    } catch (err) {
      metrics.inc("detector_config_reloads_total", "Cameras file reloads", { result: "error" });
      log.error("cameras file not reloaded; the cameras keep running as they were", {
        file: opts.configFile,
        error: errorMessage(err),
      });
      throw err;
    }
  };
  return () => {
    const next = busy.then(once, once);
    busy = next.catch(() => {});
    return next;
  };
}

/** `POST /api/reload` (with `--reload-api`): the reload's outcome as JSON. */
function reloadRoute(reload: () => Promise<ReconcileResult>): Route {
  return {
    method: "POST",
    path: "/api/reload",
    handler: async () => {
      try {
        return json({ reloaded: true, ...await reload() });
      } catch (err) {
        return jsonError(422, errorMessage(err), { reloaded: false });
      }
    },
  };
}
