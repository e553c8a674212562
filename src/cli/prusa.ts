import type { Command } from "commander";
import { commandSettings, processEnv, type Settings } from "../config/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
import { metrics } from "./metrics_registry.ts";
import { infoBody } from "../prusa/mod.ts";
import { type ConnectSettings, resolveConnect } from "../prusa/mod.ts";
import { ExitCode } from "../prusa/mod.ts";
import { createFrameSource } from "../prusa/mod.ts";
import { exitCodeFor, PrusaUploader } from "../prusa/mod.ts";
import { connectKeys, connectSettings } from "./prusa_connect.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";
import { onShutdown } from "./shutdown.ts";

const log = logger("prusa");

const uploadSettings = commandSettings([
  ...connectKeys,
  "prusaInterval",
  "prusaMaxAge",
  "prusaMaxBytes",
  "prusaSourceTimeout",
  "prusaRetries",
  "prusaAuthRetry",
  "prusaMaxBackoff",
]);

export interface PrusaUploadOptions {
  from: string;
  name: string;
  dryRun: boolean;
  connect: Omit<ConnectSettings, "prefix" | "dryRun">;
  /** Undefined: upload once. */
  intervalMs?: number;
  maxAgeMs: number;
  maxBytes: number;
  sourceTimeoutMs: number;
  retries: number;
  authRetryMs: number;
  maxBackoffMs: number;
}

export function registerPrusa(program: Command): void {
  const prusa = program.command("prusa").description("Prusa Connect camera snapshots");
  const upload = prusa.command("upload")
    .description(
      "Upload a snapshot from SOURCE to Prusa Connect: once (for cron), or every --interval " +
        "reusing one open source.",
    )
    .requiredOption(
      "--from <SOURCE>",
      "a JPEG file, http(s)://…/snapshot.jpg, rtsp://…, dir:/…, tcp://…, testpattern: …",
    )
    .option("--name <NAME>", "camera name sent to Connect", "detector")
    .option("--dry-run", "get and check the frame, print what would be sent, send nothing", false);
  addSettingOptions(upload, uploadSettings)
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
    .action(async (opts: { from: string; name: string; dryRun: boolean }, cmd: Command) => {
      let v: Pick<Settings, (typeof uploadSettings.keys)[number]>;
      let connect;
      try {
        const r = resolveCommand(cmd, uploadSettings);
        v = r.values;
        connect = connectSettings(v, r.origins, processEnv);
      } catch (err) {
        log.error(errorMessage(err));
        Deno.exit(ExitCode.config);
      }
      const code = await runPrusaUpload({
        from: opts.from,
        name: opts.name,
        dryRun: opts.dryRun,
        connect,
        intervalMs: v.prusaInterval,
        maxAgeMs: v.prusaMaxAge,
        maxBytes: v.prusaMaxBytes,
        sourceTimeoutMs: v.prusaSourceTimeout,
        retries: v.prusaRetries,
        authRetryMs: v.prusaAuthRetry,
        maxBackoffMs: v.prusaMaxBackoff,
      });
      Deno.exit(code);
    });
}

/** Runs the command; resolves with the exit code (interval mode only returns on shutdown). */
export async function runPrusaUpload(opts: PrusaUploadOptions): Promise<number> {
  const settings: ConnectSettings = { prefix: "--", ...opts.connect, dryRun: opts.dryRun };
  let connect;
  let frames;
  try {
    connect = await resolveConnect(settings);
    // Snapshot sources poll twice per upload, so an upload waits at most half an interval
    // for a frame newer than the last one it sent.
    const half = opts.intervalMs === undefined ? 1000 : Math.max(200, opts.intervalMs / 2);
    frames = createFrameSource(opts.from, {
      firstWaitMs: opts.sourceTimeoutMs,
      freshWaitMs: half,
      maxFrameBytes: 64 * 1024 * 1024,
      timeoutMs: Math.min(opts.sourceTimeoutMs, 10_000),
      intervalMs: half,
    });
  } catch (err) {
    log.error(errorMessage(err));
    return ExitCode.config;
  }
  if (opts.intervalMs !== undefined && opts.intervalMs < 10_000) {
    log.warn("Prusa Connect keeps at most one snapshot per 10 s; faster uploads may be refused", {
      intervalMs: opts.intervalMs,
    });
  }
  const uploader = new PrusaUploader({
    client: connect.client,
    reloadClient: async () => (await resolveConnect(settings)).client!,
    frames,
    name: opts.name,
    metrics,
    intervalMs: opts.intervalMs ?? 10_000,
    maxAgeMs: opts.maxAgeMs,
    maxBytes: opts.maxBytes,
    retries: opts.retries,
    authRetryMs: opts.authRetryMs,
    maxBackoffMs: opts.maxBackoffMs,
  });
  const abort = new AbortController();
  frames.start();
  if (opts.intervalMs !== undefined) {
    onShutdown(async () => {
      abort.abort();
      await frames.stop();
    });
    log.info("uploading periodically", {
      from: frames.description,
      intervalMs: opts.intervalMs,
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
