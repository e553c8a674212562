import type { Command } from "commander";
import { errorMessage, logger } from "../core/log.ts";
import { infoBody } from "../prusa/connect_client.ts";
import { type ConnectSettings, resolveConnect } from "../prusa/connect_settings.ts";
import { ExitCode } from "../prusa/exit_codes.ts";
import { createFrameSource } from "../prusa/frame_source.ts";
import { exitCodeFor, PrusaUploader } from "../prusa/uploader.ts";
import { parseDuration, parseNumber } from "./env.ts";
import { onShutdown } from "./shutdown.ts";

const log = logger("prusa");

export interface PrusaUploadOptions {
  from: string;
  token?: string;
  tokenFile?: string;
  fingerprint?: string;
  fingerprintFile?: string;
  stateDir?: string;
  server?: string;
  name: string;
  interval?: number;
  maxAge: number;
  maxBytes: number;
  timeout: number;
  sourceTimeout: number;
  retries: number;
  authRetry: number;
  maxBackoff: number;
  dryRun: boolean;
}

export function registerPrusa(program: Command): void {
  const prusa = program.command("prusa").description("Prusa Connect camera snapshots");
  prusa.command("upload")
    .description(
      "Upload a snapshot from SOURCE to Prusa Connect: once (for cron), or every --interval " +
        "reusing one open source.",
    )
    .requiredOption(
      "--from <SOURCE>",
      "a JPEG file, http(s)://…/snapshot.jpg, rtsp://…, dir:/…, tcp://…, testpattern: …",
    )
    .option("--token <T>", "camera token (visible in ps: prefer --token-file or the environment)")
    .option("--token-file <FILE>", "file holding the camera token (env PRUSA_CONNECT_TOKEN)")
    .option("--fingerprint <F>", "camera fingerprint, 16-64 of A-Z a-z 0-9 . _ : -")
    .option(
      "--fingerprint-file <FILE>",
      "file holding the fingerprint (env PRUSA_CONNECT_FINGERPRINT); when none is given one is " +
        "generated and kept in --state-dir",
    )
    .option(
      "--state-dir <DIR>",
      "where a generated fingerprint is kept (default $STATE_DIRECTORY, " +
        "$XDG_STATE_HOME/detector or ~/.local/state/detector)",
    )
    .option("--server <URL>", "Prusa Connect (env PRUSA_CONNECT_SERVER)")
    .option("--name <NAME>", "camera name sent to Connect", "detector")
    .option(
      "--interval <dur>",
      "keep running, one upload per interval (Connect keeps one per 10 s)",
      parseDuration("--interval"),
    )
    .option(
      "--max-age <dur>",
      "do not upload a frame older than this",
      parseDuration("--max-age"),
      30_000,
    )
    .option(
      "--max-bytes <n>",
      "re-encode larger JPEGs smaller",
      parseNumber("--max-bytes", 4096),
      2 * 1024 * 1024,
    )
    .option(
      "--timeout <dur>",
      "timeout of each request to Connect",
      parseDuration("--timeout"),
      10_000,
    )
    .option(
      "--source-timeout <dur>",
      "how long to wait for a frame from SOURCE",
      parseDuration("--source-timeout"),
      20_000,
    )
    .option(
      "--retries <n>",
      "one-shot: extra attempts after a server or network error",
      parseNumber("--retries", 0, 10),
      2,
    )
    .option(
      "--auth-retry <dur>",
      "interval mode: wait after 401/403 before trying again (doubles, up to 6x)",
      parseDuration("--auth-retry"),
      600_000,
    )
    .option(
      "--max-backoff <dur>",
      "interval mode: longest wait after server or network errors",
      parseDuration("--max-backoff"),
      300_000,
    )
    .option("--dry-run", "get and check the frame, print what would be sent, send nothing", false)
    .addHelpText(
      "after",
      `
Exit codes (one-shot): 0 uploaded (or --dry-run ok), 2 bad flags or configuration,
  3 source error (no frame, unreadable, stale), 4 auth refused (401/403/bad fingerprint),
  5 server or network error (timeout, 5xx, unexpected status).

Examples:
  PRUSA_CONNECT_TOKEN=… detector prusa upload --from http://127.0.0.1:8081/snapshot.jpg
  detector prusa upload --token-file /etc/detector/prusa-token --from rtsp://cam/stream \\
    --interval 10s --name "XL camera"
  detector prusa upload --from /run/cam/latest.jpg --dry-run`,
    )
    .action(async (opts: PrusaUploadOptions) => {
      const code = await runPrusaUpload(opts);
      Deno.exit(code);
    });
}

/** Runs the command; resolves with the exit code (interval mode only returns on shutdown). */
export async function runPrusaUpload(opts: PrusaUploadOptions): Promise<number> {
  const settings: ConnectSettings = {
    prefix: "--",
    server: opts.server,
    token: opts.token,
    tokenFile: opts.tokenFile,
    fingerprint: opts.fingerprint,
    fingerprintFile: opts.fingerprintFile,
    stateDir: opts.stateDir,
    timeoutMs: opts.timeout,
    dryRun: opts.dryRun,
  };
  let connect;
  let frames;
  try {
    connect = await resolveConnect(settings);
    // Snapshot sources poll twice per upload, so an upload waits at most half an interval
    // for a frame newer than the last one it sent.
    const half = opts.interval === undefined ? 1000 : Math.max(200, opts.interval / 2);
    frames = createFrameSource(opts.from, {
      firstWaitMs: opts.sourceTimeout,
      freshWaitMs: half,
      maxFrameBytes: 64 * 1024 * 1024,
      timeoutMs: Math.min(opts.sourceTimeout, 10_000),
      intervalMs: half,
    });
  } catch (err) {
    log.error(errorMessage(err));
    return ExitCode.config;
  }
  if (opts.interval !== undefined && opts.interval < 10_000) {
    log.warn("Prusa Connect keeps at most one snapshot per 10 s; faster uploads may be refused", {
      intervalMs: opts.interval,
    });
  }
  const uploader = new PrusaUploader({
    client: connect.client,
    reloadClient: async () => (await resolveConnect(settings)).client!,
    frames,
    name: opts.name,
    intervalMs: opts.interval ?? 10_000,
    maxAgeMs: opts.maxAge,
    maxBytes: opts.maxBytes,
    retries: opts.retries,
    authRetryMs: opts.authRetry,
    maxBackoffMs: opts.maxBackoff,
  });
  const abort = new AbortController();
  frames.start();
  if (opts.interval !== undefined) {
    onShutdown(async () => {
      abort.abort();
      await frames.stop();
    });
    log.info("uploading periodically", {
      from: frames.description,
      intervalMs: opts.interval,
      dryRun: opts.dryRun || undefined,
    });
    await uploader.run(abort.signal);
    await frames.stop();
    return ExitCode.ok;
  }
  onShutdown(() => abort.abort());
  let result;
  try {
    result = await uploader.once(abort.signal);
  } finally {
    await frames.stop();
  }
  if (result.outcome === "dry-run") {
    console.log(JSON.stringify(
      {
        dryRun: true,
        server: connect.server,
        token: connect.hasToken ? "set" : "missing",
        fingerprint: connect.fingerprint ?? null,
        fingerprintFrom: connect.fingerprint ? connect.fingerprintOrigin : null,
        from: frames.description,
        frame: {
          bytes: result.bytes,
          width: result.width,
          height: result.height,
          ageMs: result.ageMs,
          shrunkFrom: result.shrunkFrom ?? null,
        },
        info: infoBody({ name: opts.name, width: result.width, height: result.height }),
      },
      null,
      2,
    ));
  }
  return exitCodeFor(result);
}
