/**
 * Settings of `detector run`. Precedence: flags > environment > config file > defaults. The config
 * file accepts the original worker's `config.json` keys (`poll_interval_ms`, `max_streams`,
 * `target_fps`, `reconnect_interval_sec`, `max_retries`) plus this worker's own.
 */
import type { BackendChoice } from "../inference/types.ts";

export interface RunConfig {
  host: string;
  port: number;
  heartbeatMs: number;
  graceMs: number;
  maxStreams: number;
  /** Least time between two pipeline runs of one subscription. */
  pollIntervalMs: number;
  /** Upper bound of pipeline runs per second per subscription (0 = no bound). */
  targetFps: number;
  /** First delay before a failed camera reader reconnects. */
  reconnectIntervalSec: number;
  /** Reader reconnect attempts before giving up; -1 = forever. */
  maxRetries: number;
  modelDir: string;
  spoolDir: string;
  /** Inference threads per model; undefined = onnxruntime's default (all cores). */
  threads?: number;
  backend: BackendChoice;
  modelTimeoutMs: number;
  maxModelBytes: number;
  tracking: "bytetrack" | "per-frame";
  sessionCooldownMs: number;
}

export type RunFlags = Partial<RunConfig>;

interface Setting {
  key: keyof RunConfig;
  /** Names accepted in config.json. */
  file: string[];
  env?: string;
  parse(v: unknown, where: string): RunConfig[keyof RunConfig];
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

function num(min: number, max: number, integer = false, scale = 1) {
  return (v: unknown, where: string): number => {
    const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max) {
      throw new ConfigError(
        `${where} must be a number between ${min} and ${max}, got ${JSON.stringify(v)}`,
      );
    }
    if (integer && !Number.isInteger(n)) {
      throw new ConfigError(`${where} must be an integer, got ${JSON.stringify(v)}`);
    }
    return n * scale;
  };
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string" || v === "") {
    throw new ConfigError(`${where} must be a non-empty string, got ${JSON.stringify(v)}`);
  }
  return v;
}

function oneOf<T extends string>(values: readonly T[]) {
  return (v: unknown, where: string): T => {
    if (typeof v !== "string" || !values.includes(v as T)) {
      throw new ConfigError(
        `${where} must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`,
      );
    }
    return v as T;
  };
}

const settings: Setting[] = [
  { key: "host", file: ["host"], env: "HOST", parse: str },
  { key: "port", file: ["port"], env: "PORT", parse: num(0, 65535, true) },
  {
    key: "heartbeatMs",
    file: ["heartbeat_sec"],
    env: "DETECTOR_HEARTBEAT_SEC",
    parse: num(0.1, 3600, false, 1000),
  },
  {
    key: "graceMs",
    file: ["grace_sec"],
    env: "DETECTOR_GRACE_SEC",
    parse: num(0, 86400, false, 1000),
  },
  {
    key: "maxStreams",
    file: ["max_streams"],
    env: "DETECTOR_MAX_STREAMS",
    parse: num(1, 10_000, true),
  },
  {
    key: "pollIntervalMs",
    file: ["poll_interval_ms"],
    env: "DETECTOR_POLL_INTERVAL_MS",
    parse: num(0, 3_600_000),
  },
  { key: "targetFps", file: ["target_fps"], env: "TARGET_FPS", parse: num(0, 120) },
  {
    key: "reconnectIntervalSec",
    file: ["reconnect_interval_sec"],
    env: "DETECTOR_RECONNECT_INTERVAL_SEC",
    parse: num(0.05, 3600),
  },
  {
    key: "maxRetries",
    file: ["max_retries"],
    env: "DETECTOR_MAX_RETRIES",
    parse: num(-1, 1_000_000, true),
  },
  { key: "modelDir", file: ["model_dir"], env: "DETECTOR_MODEL_CACHE", parse: str },
  { key: "spoolDir", file: ["spool_dir"], env: "DETECTOR_SPOOL_DIR", parse: str },
  { key: "threads", file: ["threads"], env: "DETECTOR_THREADS", parse: num(1, 256, true) },
  {
    key: "backend",
    file: ["backend"],
    env: "DETECTOR_BACKEND",
    parse: oneOf(["auto", "native", "wasm"] as const),
  },
  {
    key: "modelTimeoutMs",
    file: ["model_timeout_sec"],
    env: "DETECTOR_MODEL_TIMEOUT_SEC",
    parse: num(0.1, 3600, false, 1000),
  },
  {
    key: "maxModelBytes",
    file: ["max_model_bytes"],
    env: "DETECTOR_MAX_MODEL_BYTES",
    parse: num(1024, 2 ** 40, true),
  },
  {
    key: "tracking",
    file: ["tracking"],
    env: "DETECTOR_TRACKING",
    parse: oneOf(["bytetrack", "per-frame"] as const),
  },
  {
    key: "sessionCooldownMs",
    file: ["session_cooldown_sec"],
    env: "DETECTOR_SESSION_COOLDOWN_SEC",
    parse: num(0, 86400, false, 1000),
  },
];

export const defaults: RunConfig = {
  host: "0.0.0.0",
  port: 8000,
  heartbeatMs: 2000,
  graceMs: 30_000,
  maxStreams: 20,
  pollIntervalMs: 100,
  targetFps: 0,
  reconnectIntervalSec: 5,
  maxRetries: -1,
  modelDir: "./models",
  spoolDir: "./spool",
  backend: "auto",
  modelTimeoutMs: 60_000,
  maxModelBytes: 512 * 1024 * 1024,
  tracking: "bytetrack",
  sessionCooldownMs: 10_000,
};

/** Config-file keys this version knows (for the unknown-key warning and the docs). */
export const configFileKeys: string[] = settings.flatMap((s) => s.file);

/** Reads and checks a config.json; errors name the file. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError(`--config ${path}: ${err instanceof Error ? err.message : err}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `--config ${path} is not valid JSON: ${err instanceof Error ? err.message : err}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`--config ${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

export interface ResolvedConfig {
  config: RunConfig;
  /** Keys of the config file that mean nothing to this version. */
  unknownKeys: string[];
}

/** Merges flags > environment > config file > defaults, checking every value. */
export function resolveRunConfig(
  flags: RunFlags,
  env: (name: string) => string | undefined,
  file: Record<string, unknown> = {},
  fileName = "config.json",
): ResolvedConfig {
  const config: Record<string, unknown> = { ...defaults };
  for (const s of settings) {
    const fileKey = s.file.find((k) => file[k] !== undefined && file[k] !== null);
    if (fileKey) config[s.key] = s.parse(file[fileKey], `${fileName}: "${fileKey}"`);
    const envValue = s.env ? env(s.env) : undefined;
    if (envValue !== undefined && envValue !== "") {
      config[s.key] = s.parse(envValue, `environment variable ${s.env}`);
    }
    if (flags[s.key] !== undefined) config[s.key] = flags[s.key];
  }
  const unknownKeys = Object.keys(file).filter((k) => !configFileKeys.includes(k));
  return { config: config as unknown as RunConfig, unknownKeys };
}

/** Least ms between two pipeline runs of one subscription. */
export function minRunIntervalMs(c: RunConfig): number {
  return Math.max(c.pollIntervalMs, c.targetFps > 0 ? 1000 / c.targetFps : 0);
}
