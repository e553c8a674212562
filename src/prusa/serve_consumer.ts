import type { Command } from "commander";
import { parseDuration, parseNumber } from "../cli/env.ts";
import type { FrameCache } from "../core/frame_cache.ts";
import { logger } from "../core/log.ts";
import { type ConnectSettings, resolveConnect } from "./connect_settings.ts";
import { CacheFrameSource } from "./frame_source.ts";
import { PrusaUploader } from "./uploader.ts";

const log = logger("prusa");

/** The `--prusa-*` options of `serve`, as commander parsed them. */
export interface PrusaServeSettings {
  token?: string;
  tokenFile?: string;
  fingerprint?: string;
  fingerprintFile?: string;
  camera?: string;
  interval: number;
  server?: string;
  stateDir?: string;
  maxAge: number;
  maxBytes: number;
  timeout: number;
}

/** Adds the `--prusa-*` options to the serve command. */
export function addPrusaServeOptions(cmd: Command): Command {
  return cmd
    .option(
      "--prusa-token <T>",
      "upload snapshots to Prusa Connect with this camera token (visible in ps: prefer " +
        "--prusa-token-file or PRUSA_CONNECT_TOKEN with --prusa-camera)",
    )
    .option("--prusa-token-file <FILE>", "file holding the Prusa Connect camera token")
    .option("--prusa-fingerprint <F>", "camera fingerprint (env PRUSA_CONNECT_FINGERPRINT)")
    .option("--prusa-fingerprint-file <FILE>", "file holding the camera fingerprint")
    .option(
      "--prusa-camera <NAME>",
      "camera to upload (default: the first); also enables the uploader with the token from " +
        "PRUSA_CONNECT_TOKEN",
    )
    .option(
      "--prusa-interval <dur>",
      "one Prusa Connect upload per interval",
      parseDuration("--prusa-interval"),
      10_000,
    )
    .option("--prusa-server <URL>", "Prusa Connect (env PRUSA_CONNECT_SERVER)")
    .option("--prusa-state-dir <DIR>", "where a generated fingerprint is kept")
    .option(
      "--prusa-max-age <dur>",
      "do not upload a frame older than this",
      parseDuration("--prusa-max-age"),
      30_000,
    )
    .option(
      "--prusa-max-bytes <n>",
      "re-encode larger JPEGs smaller before upload",
      parseNumber("--prusa-max-bytes", 4096),
      2 * 1024 * 1024,
    )
    .option(
      "--prusa-timeout <dur>",
      "timeout of each request to Connect",
      parseDuration("--prusa-timeout"),
      10_000,
    );
}

/** The settings when the uploader is wanted (a token flag/file or --prusa-camera given). */
export function prusaServeSettings(opts: Record<string, unknown>): PrusaServeSettings | undefined {
  if (
    opts.prusaToken === undefined && opts.prusaTokenFile === undefined &&
    opts.prusaCamera === undefined
  ) return undefined;
  return {
    token: opts.prusaToken as string | undefined,
    tokenFile: opts.prusaTokenFile as string | undefined,
    fingerprint: opts.prusaFingerprint as string | undefined,
    fingerprintFile: opts.prusaFingerprintFile as string | undefined,
    camera: opts.prusaCamera as string | undefined,
    interval: opts.prusaInterval as number,
    server: opts.prusaServer as string | undefined,
    stateDir: opts.prusaStateDir as string | undefined,
    maxAge: opts.prusaMaxAge as number,
    maxBytes: opts.prusaMaxBytes as number,
    timeout: opts.prusaTimeout as number,
  };
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
): Promise<PrusaConsumer> {
  const camera = s.camera ?? cameras[0];
  if (!camera || !cameras.includes(camera)) {
    throw new Error(
      `--prusa-camera "${camera ?? ""}" is not one of the cameras: ${cameras.join(", ")}`,
    );
  }
  const settings: ConnectSettings = {
    prefix: "--prusa-",
    server: s.server,
    token: s.token,
    tokenFile: s.tokenFile,
    fingerprint: s.fingerprint,
    fingerprintFile: s.fingerprintFile,
    stateDir: s.stateDir,
    timeoutMs: s.timeout,
  };
  const connect = await resolveConnect(settings);
  const frames = new CacheFrameSource(
    cache,
    camera,
    Math.max(1000, s.interval),
    Math.min(5000, s.interval / 2),
    `camera ${camera}`,
  );
  const uploader = new PrusaUploader({
    client: connect.client,
    reloadClient: async () => (await resolveConnect(settings)).client!,
    frames,
    name: camera,
    intervalMs: s.interval,
    maxAgeMs: s.maxAge,
    maxBytes: s.maxBytes,
    retries: 0,
    authRetryMs: 600_000,
    maxBackoffMs: 300_000,
  });
  const abort = new AbortController();
  let running: Promise<void> | undefined;
  return {
    start() {
      log.info("uploading to Prusa Connect", { camera, intervalMs: s.interval });
      running = uploader.run(abort.signal);
    },
    async stop() {
      abort.abort();
      await running;
    },
  };
}
