/**
 * Every setting of every subcommand, defined once: flag, environment name, config-file keys,
 * type (with its range), default and help text. A subcommand picks the rows it uses
 * (`src/cli/*.ts`); `resolve.ts` merges flags > environment > config file > defaults.
 *
 * Adding a setting is adding one row here and its key to the subcommands that use it.
 */
import { DEFAULT_SPOOL_MAX_BYTES, DEFAULT_SPOOL_MAX_ENTRIES } from "../actions/mod.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../core/mod.ts";
import { defaultConnectionLimits } from "../http/mod.ts";
import { DEFAULT_BODY_BUDGET } from "../push/mod.ts";
import { DEFAULT_MAX_CAMERAS } from "../push/mod.ts";
import { BACKEND_CHOICES, SPIN_POLICIES, type SpinPolicy } from "../inference/mod.ts";
import { DEFAULT_LIMITS } from "../mpta/mod.ts";
import { TRACKING_MODES } from "../pipeline/mod.ts";
import { DEFAULT_SERVER } from "../prusa/mod.ts";
import { PUSH_MAX_MESSAGES_PER_SECOND } from "../push/mod.ts";
import { DEFAULT_JPEG_QUALITY, DEFAULT_RTSP_TRANSPORT, RTSP_TRANSPORTS } from "../sources/mod.ts";
import { DEFAULT_FIRST_FRAME_TIMEOUT_MS, DEFAULT_STALL_TIMEOUT_MS } from "../sources/mod.ts";
import {
  bytes,
  duration,
  int,
  intOr,
  InvalidValue,
  listOf,
  num,
  oneOf,
  onOff,
  str,
  type ValueType,
} from "./value_types.ts";

export interface Setting<T> {
  /** Commander flag with its value placeholder: `-p, --port <n>`; a switch has none. */
  flag?: string;
  /** The value a switch stands for (`--log-json` → "json"); default `true`. */
  flagValue?: T;
  env?: string;
  /** Keys accepted in a config file, first match wins (`run --config`: the original's names). */
  file?: readonly string[];
  type: ValueType<T>;
  default?: T;
  /** The default in words when there is no value to show ("all cores"). */
  defaultText?: string;
  help: string;
}

// deno-lint-ignore no-explicit-any
export type AnySetting = Setting<any>;

const MiB = 1024 * 1024;

/** off, runs or on; the on/off words of a switch too (the setting used to be one). */
const spinPolicy: ValueType<SpinPolicy> = {
  expects: SPIN_POLICIES.join(", "),
  parse(raw) {
    const v = typeof raw === "string" ? raw.trim().toLowerCase() : raw;
    if (v === "runs") return v;
    try {
      return onOff.parse(v) ? "on" : "off";
    } catch {
      throw new InvalidValue(`one of ${this.expects} (on/off also as true/false, yes/no, 1/0)`);
    }
  },
  format: (v) => v,
};

export const settings = {
  // logging (every subcommand)
  logLevel: {
    flag: "--log-level <level>",
    env: "DETECTOR_LOG_LEVEL",
    type: oneOf(["debug", "info", "warn", "error"] as const),
    default: "info",
    help: "least severe log level printed",
  },
  logFormat: {
    flag: "--log-json",
    flagValue: "json",
    env: "DETECTOR_LOG_FORMAT",
    type: oneOf(["text", "json"] as const),
    default: "text",
    help: "one JSON object per log line (env DETECTOR_LOG_FORMAT=json)",
  },

  // HTTP listener (serve, run; run keeps the original worker's 0.0.0.0:8000)
  host: {
    flag: "--host <addr>",
    env: "HOST",
    file: ["host"],
    type: str,
    default: "127.0.0.1",
    help: "address to bind; 0.0.0.0 exposes to the network",
  },
  port: {
    flag: "-p, --port <n>",
    env: "PORT",
    file: ["port"],
    type: int(0, 65535),
    default: 8080,
    help: "TCP port, 0 = any free port",
  },
  targetFps: {
    flag: "--target-fps <n>",
    env: "TARGET_FPS",
    file: ["target_fps"],
    type: num(0.1, 120),
    default: 30,
    help: "most frames per second one consumer takes from a camera (serve: each stream client; " +
      "run: each subscription's pipeline)",
  },

  // HTTP connection hygiene (serve, run, replay --serve)
  maxConnections: {
    flag: "--max-connections <n>",
    env: "DETECTOR_MAX_CONNECTIONS",
    file: ["max_connections"],
    type: int(1, 1_000_000),
    default: defaultConnectionLimits.maxConnections,
    help: "open client connections before new ones get 503, lowered to fit the open-file limit",
  },
  headerTimeout: {
    flag: "--header-timeout <dur>",
    env: "DETECTOR_HEADER_TIMEOUT",
    type: duration("s", 100),
    default: defaultConnectionLimits.headerTimeoutMs,
    help: "a connection must send its request head within this time",
  },
  idleTimeout: {
    flag: "--idle-timeout <dur>",
    env: "DETECTOR_IDLE_TIMEOUT",
    type: duration("s", 100),
    default: defaultConnectionLimits.idleTimeoutMs,
    help: "a kept-alive connection with no request, or a client taking none of its response, " +
      "this long is closed",
  },
  bodyTimeout: {
    flag: "--body-timeout <dur>",
    env: "DETECTOR_BODY_TIMEOUT",
    type: duration("s", 100),
    default: defaultConnectionLimits.bodyTimeoutMs,
    help: "a request body that stops arriving this long is dropped",
  },
  shutdownTimeout: {
    flag: "--shutdown-timeout <dur>",
    env: "DETECTOR_SHUTDOWN_TIMEOUT",
    type: duration("s", 100),
    default: 10_000,
    help: "after SIGINT/SIGTERM, exit at the latest this long later, spooling unsent writes",
  },

  // camera sources (serve, run, probe)
  source: {
    flag: "-s, --source <NAME=SPEC>",
    type: listOf(str),
    default: [] as string[],
    help: "add a camera (repeatable); SPEC forms are listed below",
  },
  framesDir: {
    env: "FRAMES_DIR_ABS",
    type: str,
    help: 'watched folder, used as camera "frames" when no --source is given',
  },
  maxFrameAge: {
    flag: "--max-frame-age <s>",
    env: "MAX_FRAME_AGE_S",
    type: duration("s"),
    defaultText: "never delete",
    help: "dir: sources delete JPEG files older than this (files already in the folder too); " +
      "unset or 0 keeps all",
  },
  snapshotInterval: {
    flag: "--snapshot-interval <dur>",
    type: duration("s", 10),
    default: 1000,
    help: "polling period of http(s):// snapshot sources",
  },
  sourceTimeout: {
    flag: "--timeout <dur>",
    type: duration("s", 1),
    default: 10_000,
    help: "connect/request timeout of network sources",
  },
  maxFrameBytes: {
    flag: "--max-frame-bytes <n>",
    type: bytes(1024, 1024 * MiB),
    default: DEFAULT_MAX_FRAME_BYTES,
    help: "largest JPEG accepted from any source (pushed frames: 8MiB unless given)",
  },
  maxRetries: {
    flag: "--max-retries <n>",
    env: "DETECTOR_MAX_RETRIES",
    file: ["max_retries"],
    type: int(-1, 1_000_000),
    default: -1,
    help: "failed connects of a camera in a row before it gives up, -1 = forever",
  },
  rtspTransport: {
    flag: "--rtsp-transport <proto>",
    env: "DETECTOR_RTSP_TRANSPORT",
    type: oneOf(RTSP_TRANSPORTS, true),
    default: DEFAULT_RTSP_TRANSPORT,
    help: `RTSP transport of ffmpeg sources: ${RTSP_TRANSPORTS.join(", ")}`,
  },
  stallTimeout: {
    flag: "--stall-timeout <dur>",
    env: "DETECTOR_STALL_TIMEOUT",
    type: duration("s", 100),
    default: DEFAULT_STALL_TIMEOUT_MS,
    help: "an ffmpeg source that delivers no frame this long is restarted",
  },
  firstFrameTimeout: {
    flag: "--first-frame-timeout <dur>",
    env: "DETECTOR_FIRST_FRAME_TIMEOUT",
    type: duration("s", 100),
    default: DEFAULT_FIRST_FRAME_TIMEOUT_MS,
    help: "an ffmpeg source whose input opened but gave no first frame this long is restarted; " +
      "long GOPs need time for their first keyframe (never below --stall-timeout)",
  },
  healthzStrict: {
    flag: "--healthz-strict",
    env: "DETECTOR_HEALTHZ_STRICT",
    type: onOff,
    default: false,
    help: "/healthz answers 503 while any camera is down (for load balancers and watchdogs)",
  },
  ffmpegQuality: {
    flag: "--ffmpeg-quality <q>",
    type: int(2, 31),
    default: DEFAULT_JPEG_QUALITY,
    help: "MJPEG quality ffmpeg encodes with, 2 (best) … 31",
  },
  ffmpeg: { env: "FFMPEG", type: str, default: "ffmpeg", help: "the ffmpeg program" },
  ffprobe: { env: "FFPROBE", type: str, default: "ffprobe", help: "the ffprobe program" },

  // push ingest and history (serve, token)
  pushSecret: {
    flag: "--push-secret <secret>",
    env: "DETECTOR_PUSH_SECRET",
    type: str,
    help: "turns on WebSocket push at /push; a camera's token is HMAC-SHA256(secret, id), see " +
      "`detector token`",
  },
  uploadToken: {
    flag: "--upload-token <token>",
    env: "DETECTOR_UPLOAD_TOKEN",
    type: str,
    help: "HTTP uploads must send Authorization: Bearer TOKEN",
  },

  // viewer access (serve)
  authFile: {
    flag: "--auth <file>",
    env: "DETECTOR_AUTH_FILE",
    type: str,
    help: "viewers need HTTP Basic credentials from this file, one user:password a line; a " +
      "password may be $sha256$HEX or $scrypt$SALT$HEX",
  },
  authToken: {
    flag: "--auth-token <token>",
    env: "DETECTOR_AUTH_TOKEN",
    type: listOf(str),
    default: [] as string[],
    help: "viewers may send Authorization: Bearer TOKEN instead (repeatable)",
  },
  metricsToken: {
    flag: "--metrics-token <token>",
    env: "DETECTOR_METRICS_TOKEN",
    type: str,
    help: "/metrics takes this bearer token and no other credentials",
  },
  metricsOpen: {
    flag: "--metrics-open",
    type: onOff,
    default: false,
    help: "/metrics needs no credentials even with --auth/--auth-token",
  },

  reloadApi: {
    flag: "--reload-api",
    type: onOff,
    default: false,
    help: "POST /api/reload reloads the cameras file (as SIGHUP does), behind --auth if set",
  },

  // backend access (run)
  backendToken: {
    flag: "--backend-token <token>",
    env: "DETECTOR_BACKEND_TOKEN",
    type: str,
    help: "the backend must send Authorization: Bearer TOKEN (or ?token=TOKEN) with the " +
      "WebSocket upgrade; others get 401",
  },
  allowHosts: {
    flag: "--allow-hosts <list>",
    env: "DETECTOR_ALLOW_HOSTS",
    file: ["allow_hosts"],
    type: str,
    help: "hosts the backend may point camera streams and model downloads at, e.g. " +
      "'cams.lan,*.cams.lan,10.20.0.0/16,models.example.com:443'",
  },
  allowModelHosts: {
    flag: "--allow-model-hosts <list>",
    env: "DETECTOR_ALLOW_MODEL_HOSTS",
    file: ["allow_model_hosts"],
    type: str,
    help: "hosts for model downloads when they differ from --allow-hosts",
  },
  mqtt: {
    flag: "--mqtt <URL>",
    type: listOf(str),
    default: [] as string[],
    help: "subscribe to screenshots, e.g. mqtt://user:pass@host:1883/infoscreen/+/screenshot; " +
      "the + level names the camera (repeatable)",
  },
  historyDir: {
    flag: "--history <dir>",
    env: "DETECTOR_HISTORY_DIR",
    type: str,
    help: "keep {camera}.jpg and timestamped {camera}_{ms}.jpg files here, reloaded on restart",
  },
  historyKeep: {
    flag: "--history-keep <n>",
    type: int(1, 1_000_000),
    default: 20,
    help: "timestamped frames kept per camera",
  },
  historyInterval: {
    flag: "--history-interval <dur>",
    type: duration("s"),
    default: 1000,
    help: "at most one history frame per camera per this period, so a 30 fps camera does not " +
      "fill the history in a second; 0 keeps every frame",
  },
  maxCameras: {
    flag: "--max-cameras <n>",
    env: "DETECTOR_MAX_CAMERAS",
    type: int(1, 1_000_000),
    default: DEFAULT_MAX_CAMERAS,
    help: "most camera names pushes and uploads may create; beyond it 429 / WebSocket 1008",
  },
  maxBodyMemory: {
    flag: "--max-body-memory <bytes>",
    env: "DETECTOR_MAX_BODY_MEMORY",
    type: bytes(1024, 64 * 1024 * MiB),
    default: DEFAULT_BODY_BUDGET.totalBytes,
    help: "bytes of upload bodies and push messages held at once by all clients together; " +
      "beyond it 503 / WebSocket 1008",
  },
  maxBodyMemoryPerAddress: {
    flag: "--max-body-memory-per-address <bytes>",
    env: "DETECTOR_MAX_BODY_MEMORY_PER_ADDRESS",
    type: bytes(1024, 64 * 1024 * MiB),
    default: DEFAULT_BODY_BUDGET.perAddressBytes,
    help: "the same for one client address; beyond it 429 / WebSocket 1008",
  },
  secretsFile: {
    flag: "--secrets-file <file>",
    env: "DETECTOR_SECRETS_FILE",
    type: str,
    help: "KEY=VALUE lines for ${KEY} references in --source and --mqtt, so no password is on " +
      "the command line; ${KEY} also reads the environment",
  },
  pushMaxMessages: {
    flag: "--push-max-messages <n>",
    env: "DETECTOR_PUSH_MAX_MESSAGES",
    type: num(0, 1e9),
    default: PUSH_MAX_MESSAGES_PER_SECOND,
    help: "WebSocket push messages per second taken from all cameras together; a camera over " +
      "its share is disconnected, 0 = no cap",
  },

  // pipelines and inference (run, replay, detect)
  backend: {
    flag: "--backend <name>",
    env: "DETECTOR_BACKEND",
    file: ["backend"],
    type: oneOf(BACKEND_CHOICES),
    default: "auto",
    help: "inference backend: auto, native (onnxruntime-node) or wasm (onnxruntime-web)",
  },
  threads: {
    flag: "--threads <n>",
    env: "DETECTOR_THREADS",
    file: ["threads"],
    type: int(1, 256),
    defaultText: "the budget; branches that run at once share it",
    help: "inference threads per model; the detector's instances (DETECTOR_MODEL_INSTANCES) " +
      "each get this many, or a share of the budget",
  },
  threadBudget: {
    env: "DETECTOR_THREAD_BUDGET",
    type: int(1, 1024),
    defaultText: "all cores",
    help: "cores shared by every inference session of the process",
  },
  modelInstances: {
    env: "DETECTOR_MODEL_INSTANCES",
    type: int(1, 64),
    defaultText: "1 per core up to 2 cores, then 1 per 2 cores up to 4",
    help: "instances of each pipeline's detector, running different frames at once and sharing " +
      "the thread budget (each costs the model's memory again); `detect` always uses one",
  },
  ortSpinning: {
    env: "DETECTOR_ORT_SPINNING",
    type: spinPolicy,
    defaultText: "off; runs for `detect`",
    help: "when ONNX Runtime's intra-op threads spin-wait instead of sleeping: off, runs (only " +
      "while a run lasts: faster single frames, but takes cores from whatever else runs), or on " +
      "(ONNX Runtime's own default)",
  },
  turbojpeg: {
    env: "DETECTOR_TURBOJPEG",
    type: str,
    default: "auto",
    help: "what decodes JPEG frames for the models: auto (libturbojpeg.so.0 when the system " +
      "has it, Debian package libturbojpeg0, else sharp), off (sharp), or the library's path",
  },
  nativeBackend: {
    env: "DETECTOR_NATIVE_BACKEND",
    type: onOff,
    default: true,
    help: "off treats onnxruntime-node as unavailable (auto falls back to wasm)",
  },
  tracking: {
    flag: "--tracking <mode>",
    env: "DETECTOR_TRACKING",
    file: ["tracking"],
    type: oneOf(TRACKING_MODES),
    default: "bytetrack",
    help: "bytetrack: one session per tracked vehicle; per-frame: every frame is an event " +
      "(the original)",
  },
  sessionCooldown: {
    flag: "--session-cooldown <dur>",
    env: "DETECTOR_SESSION_COOLDOWN_SEC",
    file: ["session_cooldown_sec"],
    type: duration("s", 0, 86_400_000),
    default: 10_000,
    help: "bytetrack: how long a lost vehicle keeps its session; per-frame: least time between " +
      "events",
  },
  spoolDir: {
    flag: "--spool-dir <dir>",
    env: "DETECTOR_SPOOL_DIR",
    file: ["spool_dir"],
    type: str,
    default: "./spool",
    help: "where failed Redis/PostgreSQL writes wait for their server",
  },
  spoolMaxEntries: {
    env: "DETECTOR_SPOOL_MAX_ENTRIES",
    type: int(1, 1e9),
    default: DEFAULT_SPOOL_MAX_ENTRIES,
    help: "spooled writes kept per server, oldest dropped beyond",
  },
  spoolMaxBytes: {
    env: "DETECTOR_SPOOL_MAX_MB",
    type: bytes(MiB, 1024 ** 4, "MiB"),
    default: DEFAULT_SPOOL_MAX_BYTES,
    help: "spooled bytes kept per server, oldest dropped beyond",
  },
  redisUrl: {
    env: "DETECTOR_REDIS_URL",
    type: str,
    help: "Redis server of pipeline writes, instead of the archive's redis block",
  },
  postgresUrl: {
    env: "DETECTOR_POSTGRES_URL",
    type: str,
    help: "PostgreSQL server of pipeline writes, instead of the archive's postgresql block",
  },
  modelDir: {
    flag: "--model-dir <dir>",
    env: "DETECTOR_MODEL_CACHE",
    file: ["model_dir"],
    type: str,
    default: "./models",
    help: "downloaded and extracted .mpta archives",
  },

  // the CMS worker (run)
  heartbeat: {
    flag: "--heartbeat <dur>",
    env: "DETECTOR_HEARTBEAT_SEC",
    file: ["heartbeat_sec"],
    type: duration("s", 100, 3_600_000),
    default: 2000,
    help: "stateReport period",
  },
  grace: {
    flag: "--grace <dur>",
    env: "DETECTOR_GRACE_SEC",
    file: ["grace_sec"],
    type: duration("s", 0, 86_400_000),
    default: 30_000,
    help: "keep subscriptions this long after the backend disconnects",
  },
  maxStreams: {
    flag: "--max-streams <n>",
    env: "DETECTOR_MAX_STREAMS",
    file: ["max_streams"],
    type: int(1, 10_000),
    default: 20,
    help: "most subscriptions at once",
  },
  analysisSize: {
    flag: "--analysis-size <px|full>",
    env: "DETECTOR_ANALYSIS_SIZE",
    file: ["analysis_size"],
    type: intOr("full", 32, 8192),
    default: 640,
    help: "video cameras' frames are scaled down in ffmpeg to fit this many pixels a side before " +
      "the pipelines see them (positions are still reported in the camera's pixels; crops and " +
      "the camera image come at this size); full keeps every pixel. Match it to the " +
      "pipelines' detector input",
  },
  pollInterval: {
    flag: "--poll-interval <ms>",
    env: "DETECTOR_POLL_INTERVAL_MS",
    file: ["poll_interval_ms"],
    type: duration("ms", 0, 3_600_000),
    default: 100,
    help: "least time between two pipeline runs of a subscription",
  },
  reconnectInterval: {
    flag: "--reconnect-interval <s>",
    env: "DETECTOR_RECONNECT_INTERVAL_SEC",
    file: ["reconnect_interval_sec"],
    type: duration("s", 50, 3_600_000),
    default: 5000,
    help: "first delay before a camera reconnects (doubles from there)",
  },
  modelTimeout: {
    flag: "--model-timeout <dur>",
    env: "DETECTOR_MODEL_TIMEOUT_SEC",
    file: ["model_timeout_sec"],
    type: duration("s", 100, 3_600_000),
    default: 60_000,
    help: "a model download that stalls this long fails",
  },
  maxModelBytes: {
    flag: "--max-model-bytes <n>",
    env: "DETECTOR_MAX_MODEL_BYTES",
    file: ["max_model_bytes"],
    type: bytes(1024, 1024 ** 4),
    default: 512 * MiB,
    help: "largest .mpta accepted",
  },

  // replay
  every: {
    flag: "--every <n>",
    type: int(1, 100_000),
    default: 1,
    help: "run the pipeline on one frame in N",
  },
  drainTimeout: {
    flag: "--drain-timeout <dur>",
    type: duration("s"),
    default: 10_000,
    help: "at the end, wait this long for spooled writes to reach their servers",
  },

  // detect
  minConfidence: {
    flag: "--min-confidence <n>",
    type: num(0, 1),
    defaultText: "the node's, or 0.25",
    help: "drop detections below",
  },
  iou: {
    flag: "--iou <n>",
    type: num(0, 1),
    defaultText: "the node's, or 0.45",
    help: "NMS IoU threshold",
  },

  // probe
  probeTimeout: {
    flag: "--timeout <dur>",
    type: duration("s", 100),
    default: 15_000,
    help: "give up when no frame arrives this long",
  },
  measure: {
    flag: "--measure <dur>",
    type: duration("s", 0),
    default: 3000,
    help: "after the first frame, count frames this long for the delivered fps",
  },

  // Prusa Connect (prusa upload; serve mounts them as --prusa-…)
  prusaToken: {
    flag: "--token <T>",
    env: "PRUSA_CONNECT_TOKEN",
    type: str,
    help: "camera token (a flag shows in ps: prefer the file or the environment)",
  },
  prusaTokenFile: {
    flag: "--token-file <FILE>",
    type: str,
    help: "file holding the camera token (beats the environment)",
  },
  prusaFingerprint: {
    flag: "--fingerprint <F>",
    env: "PRUSA_CONNECT_FINGERPRINT",
    type: str,
    help: "camera fingerprint, 16-64 of A-Z a-z 0-9 . _ : -",
  },
  prusaFingerprintFile: {
    flag: "--fingerprint-file <FILE>",
    type: str,
    help: "file holding the fingerprint (beats the environment); when none is given one is " +
      "generated and kept in the state folder",
  },
  prusaServer: {
    flag: "--server <URL>",
    env: "PRUSA_CONNECT_SERVER",
    type: str,
    default: DEFAULT_SERVER,
    help: "Prusa Connect",
  },
  prusaStateDir: {
    flag: "--state-dir <DIR>",
    type: str,
    defaultText: "$STATE_DIRECTORY, $XDG_STATE_HOME/detector or ~/.local/state/detector",
    help: "where a generated fingerprint is kept",
  },
  prusaCamera: {
    flag: "--camera <NAME>",
    type: str,
    defaultText: "the first",
    help: "camera to upload; also turns the uploader on with the token from PRUSA_CONNECT_TOKEN",
  },
  prusaInterval: {
    flag: "--interval <dur>",
    type: duration("s", 100),
    help: "keep running, one upload per interval (Connect keeps one per 10s)",
  },
  prusaMaxAge: {
    flag: "--max-age <dur>",
    type: duration("s", 0),
    default: 30_000,
    help: "do not upload a frame older than this",
  },
  prusaMaxBytes: {
    flag: "--max-bytes <n>",
    type: bytes(4096, 1024 * MiB),
    default: 2 * MiB,
    help: "re-encode larger JPEGs smaller before upload",
  },
  prusaTimeout: {
    flag: "--timeout <dur>",
    type: duration("s", 100),
    default: 10_000,
    help: "timeout of each request to Connect",
  },
  prusaSourceTimeout: {
    flag: "--source-timeout <dur>",
    type: duration("s", 100),
    default: 20_000,
    help: "how long to wait for a frame from SOURCE",
  },
  prusaRetries: {
    flag: "--retries <n>",
    type: int(0, 10),
    default: 2,
    help: "one-shot: extra attempts after a server or network error",
  },
  prusaAuthRetry: {
    flag: "--auth-retry <dur>",
    type: duration("s", 100),
    default: 600_000,
    help: "interval mode: wait after 401/403 before trying again (doubles, up to 6x)",
  },
  prusaMaxBackoff: {
    flag: "--max-backoff <dur>",
    type: duration("s", 100),
    default: 300_000,
    help: "interval mode: longest wait after server or network errors",
  },

  // .mpta archives (mpta validate/inspect)
  maxEntries: {
    flag: "--max-entries <n>",
    type: int(1, 1_000_000),
    default: DEFAULT_LIMITS.maxEntries,
    help: "most entries an archive may hold",
  },
  maxTotalBytes: {
    flag: "--max-total-mb <n>",
    type: bytes(MiB, 1024 ** 4, "MiB"),
    default: DEFAULT_LIMITS.maxTotalBytes,
    help: "most uncompressed bytes an archive may hold (a plain number is MiB)",
  },
} satisfies Record<string, AnySetting>;

export type SettingKey = keyof typeof settings;

type ValueOf<S> = S extends { type: ValueType<infer T>; default: unknown } ? T
  : S extends { type: ValueType<infer T> } ? T | undefined
  : never;

/** The resolved value of every setting; those without a default may be undefined. */
export type Settings = { -readonly [K in SettingKey]: ValueOf<typeof settings[K]> };
