/**
 * Settings of `detector run`: the rows of the settings table it uses, as one typed object. The
 * config file accepts the original worker's `config.json` keys (`poll_interval_ms`,
 * `max_streams`, `target_fps`, `reconnect_interval_sec`, `max_retries`) plus this worker's own.
 */
import {
  type AnySetting,
  commandSettings,
  type ConfigFile,
  type EnvReader,
  readConfigFile as readFile,
  resolveSettings,
  type Settings,
  settings,
} from "../config/mod.ts";
import type { BackendChoice } from "../inference/mod.ts";
import { HostAllowList, type UrlPolicy } from "../worker/mod.ts";
import { ffmpegKeys } from "./ffmpeg_options.ts";
import { httpKeys, httpLimits } from "./http_options.ts";
import type { ConnectionLimits } from "../http/mod.ts";

export { ConfigError } from "../config/mod.ts";

export const runSettings = commandSettings([
  "host",
  "port",
  "heartbeat",
  "grace",
  "maxStreams",
  "pollInterval",
  "analysisSize",
  "targetFps",
  "reconnectInterval",
  "maxRetries",
  "sourceTimeout",
  ...ffmpegKeys,
  ...httpKeys,
  "modelDir",
  "spoolDir",
  "spoolMaxEntries",
  "spoolMaxBytes",
  "redisUrl",
  "postgresUrl",
  "threads",
  "backend",
  "modelTimeout",
  "maxModelBytes",
  "tracking",
  "sessionCooldown",
  "backendToken",
  "allowHosts",
  "allowModelHosts",
], {
  // The original worker's listener: reachable by the CMS backend on port 8000.
  defaults: { host: "0.0.0.0", port: 8000 },
});

type RunKey = (typeof runSettings.keys)[number];
export type RunFlags = { [K in RunKey]?: unknown };

export interface RunConfig {
  host: string;
  port: number;
  heartbeatMs: number;
  graceMs: number;
  maxStreams: number;
  /** Least time between two pipeline runs of one subscription. */
  pollIntervalMs: number;
  /** Side that video frames are scaled down to fit before the pipelines; "full" keeps them. */
  analysisSize: number | "full";
  /** Most pipeline runs per second per subscription. */
  targetFps: number;
  /** First delay before a failed camera reader reconnects. */
  reconnectIntervalSec: number;
  /** Reader reconnect attempts before giving up; -1 = forever. */
  maxRetries: number;
  /** Connect/request timeout of network camera readers. */
  timeoutMs: number;
  stallTimeoutMs: number;
  firstFrameTimeoutMs: number;
  rtspTransport: string;
  jpegQuality: number;
  modelDir: string;
  spoolDir: string;
  spoolMaxEntries: number;
  spoolMaxBytes: number;
  redisUrl?: string;
  postgresUrl?: string;
  /** Inference threads per model; undefined = onnxruntime's default (all cores). */
  threads?: number;
  backend: BackendChoice;
  modelTimeoutMs: number;
  maxModelBytes: number;
  tracking: Settings["tracking"];
  sessionCooldownMs: number;
  /** Backend connections must present this token. */
  backendToken?: string;
  /** Hosts the backend may point streams and model downloads at. */
  urlPolicy?: UrlPolicy;
  /** Connection timeouts and cap of the HTTP port. */
  http: ConnectionLimits;
}

/** Config-file keys this version knows (for the unknown-key warning and the docs). */
export const configFileKeys: string[] = runSettings.keys.flatMap((k) => {
  const row: AnySetting = settings[k];
  return [...row.file ?? []];
});

/** Reads and checks a config.json; errors name the file. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  return (await readFile(path)).values;
}

export interface ResolvedConfig {
  config: RunConfig;
  /** Keys of the config file that mean nothing to this version. */
  unknownKeys: string[];
}

/** Merges flags > environment > config file > defaults, checking every value. */
export function resolveRunConfig(
  flags: RunFlags,
  env: EnvReader,
  file: Record<string, unknown> = {},
  fileName = "config.json",
): ResolvedConfig {
  const source: ConfigFile = { name: fileName, values: file };
  const { values: v, origins, unknownFileKeys } = resolveSettings(runSettings, flags, env, source);
  const where = (key: "allowHosts" | "allowModelHosts") =>
    origins[key] === "env"
      ? `environment variable ${settings[key].env}`
      : origins[key] === "file"
      ? `${fileName}: "${settings[key].file![0]}"`
      : key === "allowHosts"
      ? "--allow-hosts"
      : "--allow-model-hosts";
  const hosts = v.allowHosts === undefined
    ? undefined
    : HostAllowList.parse(v.allowHosts, where("allowHosts"));
  const modelHosts = v.allowModelHosts === undefined
    ? undefined
    : HostAllowList.parse(v.allowModelHosts, where("allowModelHosts"));
  return {
    config: {
      host: v.host,
      port: v.port,
      heartbeatMs: v.heartbeat,
      graceMs: v.grace,
      maxStreams: v.maxStreams,
      pollIntervalMs: v.pollInterval,
      analysisSize: v.analysisSize,
      targetFps: v.targetFps,
      reconnectIntervalSec: v.reconnectInterval / 1000,
      maxRetries: v.maxRetries,
      timeoutMs: v.sourceTimeout,
      stallTimeoutMs: v.stallTimeout,
      firstFrameTimeoutMs: v.firstFrameTimeout,
      rtspTransport: v.rtspTransport,
      jpegQuality: v.ffmpegQuality,
      modelDir: v.modelDir,
      spoolDir: v.spoolDir,
      spoolMaxEntries: v.spoolMaxEntries,
      spoolMaxBytes: v.spoolMaxBytes,
      redisUrl: v.redisUrl,
      postgresUrl: v.postgresUrl,
      threads: v.threads,
      backend: v.backend,
      modelTimeoutMs: v.modelTimeout,
      maxModelBytes: v.maxModelBytes,
      tracking: v.tracking,
      sessionCooldownMs: v.sessionCooldown,
      backendToken: v.backendToken,
      urlPolicy: hosts || modelHosts ? { streams: hosts, models: modelHosts ?? hosts } : undefined,
      http: httpLimits(v),
    },
    unknownKeys: unknownFileKeys,
  };
}

export const defaults: RunConfig = resolveRunConfig({}, () => undefined).config;

/** Least ms between two pipeline runs of one subscription. */
export function minRunIntervalMs(c: RunConfig): number {
  return Math.max(c.pollIntervalMs, 1000 / c.targetFps);
}
