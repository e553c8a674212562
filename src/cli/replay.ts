import type { Command } from "commander";
import { httpKeys, httpLimits } from "./http_options.ts";
import { errorMessage, logger } from "../core/mod.ts";
import { metrics } from "./metrics_registry.ts";
import { commandSettings } from "../config/mod.ts";
import { runReplay } from "../replay/mod.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";
import { armForcedExit } from "./shutdown.ts";

const log = logger("replay");

/** `:8080`, `8080`, `0.0.0.0:8080`, `[::1]:8080` → host and port (default host 127.0.0.1). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d+)$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new Error(`--serve expects [HOST]:PORT like :8080, got "${value}"`);
  }
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}

export function parseSize(value: string): "model" | "full" | { width: number; height: number } {
  if (value === "model" || value === "full") return value;
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m || Number(m[1]) < 2 || Number(m[2]) < 2 || Number(m[1]) > 8192 || Number(m[2]) > 8192) {
    throw new Error(`--size expects model, full or WxH (like 640x360), got "${value}"`);
  }
  return { width: Number(m[1]) & ~1, height: Number(m[2]) & ~1 };
}

const replaySettings = commandSettings([
  "every",
  "tracking",
  "sessionCooldown",
  "spoolDir",
  "spoolMaxEntries",
  "spoolMaxBytes",
  "redisUrl",
  "postgresUrl",
  "backend",
  "threads",
  "drainTimeout",
  ...httpKeys,
]);

export function registerReplay(program: Command): void {
  const replay = program.command("replay")
    .description(
      "Run a pipeline archive (.mpta) over a video file: one JSON line per frame, a summary, " +
        "optional annotated output, live viewer and dry run.",
    )
    .argument("<video>", "video file (anything ffmpeg reads)")
    .requiredOption("--mpta <file>", "pipeline archive")
    .option("--realtime", "read the video at its own frame rate instead of as fast as possible")
    .option("--out <file.jsonl>", "write the JSON lines to this file instead of stdout")
    .option(
      "--annotate <out.mp4|dir>",
      "write frames with boxes and labels: an MP4 or a folder of JPEGs",
    )
    .option("--dry-run", "run no writes: print what would be written to Redis/PostgreSQL")
    .option(
      "--serve <[host]:port>",
      "show the annotated replay live in the viewer (implies --realtime)",
    )
    .option(
      "--size <model|full|WxH>",
      "analysis size: fit into the model input (default, ffmpeg scales), the video's size, or WxH",
      parseSize,
      "model",
    )
    .option("--camera <id>", "camera id for templates ({camera_id})", "replay")
    .option(
      "--display <id>",
      "display id for templates ({display_id}); default: camera id before ';'",
    )
    .option("--no-progress", "no progress bar (it is only drawn on a terminal anyway)");
  addSettingOptions(replay, replaySettings)
    .addHelpText(
      "after",
      `
Environment: DETECTOR_REDIS_URL, DETECTOR_POSTGRES_URL override the archive's redis/postgresql
blocks; DETECTOR_SPOOL_MAX_ENTRIES (10000) and DETECTOR_SPOOL_MAX_MB (256) bound the spool per
server.

Examples:
  detector replay traffic.mp4 --mpta pipelines/car_frontal_full.mpta --dry-run
  detector replay traffic.mp4 --mpta car.mpta --out frames.jsonl --annotate annotated.mp4
  detector replay traffic.mp4 --mpta car.mpta --serve :8080
  DETECTOR_REDIS_URL=redis://127.0.0.1:6379/0 detector replay traffic.mp4 --mpta car.mpta --every 3`,
    )
    .action(async (video: string, o, cmd: Command) => {
      const { values: v } = resolveCommand(cmd, replaySettings);
      const controller = new AbortController();
      const onSignal = () => {
        log.info("stopping replay");
        armForcedExit();
        controller.abort();
      };
      const signals = ["SIGINT", "SIGTERM"] as const;
      for (const s of signals) Deno.addSignalListener(s, onSignal);
      const camera: string = o.camera;
      try {
        const { server } = await runReplay({
          video,
          mpta: o.mpta,
          realtime: Boolean(o.realtime || o.serve),
          every: v.every,
          out: o.out,
          annotate: o.annotate,
          dryRun: Boolean(o.dryRun),
          serve: o.serve ? { ...parseListen(o.serve), limits: httpLimits(v) } : undefined,
          metrics,
          tracking: v.tracking,
          sessionCooldownMs: v.sessionCooldown,
          spoolDir: v.spoolDir,
          writes: {
            redisUrl: v.redisUrl,
            postgresUrl: v.postgresUrl,
            spoolMaxEntries: v.spoolMaxEntries,
            spoolMaxBytes: v.spoolMaxBytes,
          },
          backend: v.backend,
          threads: v.threads,
          size: o.size,
          camera,
          display: o.display ?? camera.split(";")[0],
          drainTimeoutMs: v.drainTimeout,
          progress: o.progress === false ? false : undefined,
          signal: controller.signal,
        });
        if (server) {
          if (!controller.signal.aborted) {
            log.info(`replay finished; the viewer stays up at ${server.url} until Ctrl-C`);
            await new Promise<void>((resolve) => {
              if (controller.signal.aborted) resolve();
              controller.signal.addEventListener("abort", () => resolve(), { once: true });
            });
          }
          await server.shutdown();
        }
      } catch (err) {
        throw new Error(errorMessage(err));
      } finally {
        for (const s of signals) Deno.removeSignalListener(s, onSignal);
      }
    });
}
