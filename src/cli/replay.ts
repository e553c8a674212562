import type { Command } from "commander";
import { errorMessage, logger } from "../core/log.ts";
import type { BackendChoice } from "../inference/types.ts";
import { runReplay } from "../replay/replay.ts";
import { envNumber, envString, parseDuration, parseNumber } from "./env.ts";

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

function oneOf<T extends string>(flag: string, values: readonly T[]) {
  return (v: string): T => {
    if (!values.includes(v as T)) {
      throw new Error(`${flag} expects one of ${values.join(", ")}, got "${v}"`);
    }
    return v as T;
  };
}

export function registerReplay(program: Command): void {
  program.command("replay")
    .description(
      "Run a pipeline archive (.mpta) over a video file: one JSON line per frame, a summary, " +
        "optional annotated output, live viewer and dry run.",
    )
    .argument("<video>", "video file (anything ffmpeg reads)")
    .requiredOption("--mpta <file>", "pipeline archive")
    .option("--realtime", "read the video at its own frame rate instead of as fast as possible")
    .option(
      "--every <n>",
      "run the pipeline on one frame in N",
      parseNumber("--every", 1, 100000),
      1,
    )
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
      "--tracking <mode>",
      "bytetrack (default): one session per tracked vehicle; per-frame: every frame is an event",
      oneOf("--tracking", ["bytetrack", "per-frame"] as const),
    )
    .option(
      "--session-cooldown <dur>",
      "bytetrack: how long a lost vehicle keeps its session; per-frame: least time between events (default 10s)",
      parseDuration("--session-cooldown"),
    )
    .option(
      "--spool-dir <dir>",
      "where failed writes wait for their server (env DETECTOR_SPOOL_DIR)",
    )
    .option(
      "--backend <name>",
      "inference backend: auto, native (onnxruntime-node) or wasm",
      oneOf("--backend", ["auto", "native", "wasm"] as const),
      "auto",
    )
    .option(
      "--threads <n>",
      "inference threads per model (default: all cores)",
      parseNumber("--threads", 1, 256),
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
    .option(
      "--drain-timeout <dur>",
      "at the end, wait this long for spooled writes to reach their servers",
      parseDuration("--drain-timeout"),
      10_000,
    )
    .option("--no-progress", "no progress bar (it is only drawn on a terminal anyway)")
    .addHelpText(
      "after",
      `
Environment: DETECTOR_REDIS_URL, DETECTOR_POSTGRES_URL override the archive's redis/postgresql
blocks; DETECTOR_SPOOL_DIR (./spool), DETECTOR_TRACKING (bytetrack) and
DETECTOR_SESSION_COOLDOWN_SEC (10) are the defaults of --spool-dir, --tracking, --session-cooldown;
DETECTOR_SPOOL_MAX_ENTRIES (10000) and DETECTOR_SPOOL_MAX_MB (256) bound the spool per server.

Examples:
  detector replay traffic.mp4 --mpta pipelines/car_frontal_full.mpta --dry-run
  detector replay traffic.mp4 --mpta car.mpta --out frames.jsonl --annotate annotated.mp4
  detector replay traffic.mp4 --mpta car.mpta --serve :8080
  DETECTOR_REDIS_URL=redis://127.0.0.1:6379/0 detector replay traffic.mp4 --mpta car.mpta --every 3`,
    )
    .action(async (video: string, o) => {
      const controller = new AbortController();
      const onSignal = () => {
        log.info("stopping replay");
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
          every: o.every,
          out: o.out,
          annotate: o.annotate,
          dryRun: Boolean(o.dryRun),
          serve: o.serve ? parseListen(o.serve) : undefined,
          tracking: o.tracking ??
            oneOf("DETECTOR_TRACKING", ["bytetrack", "per-frame"] as const)(
              envString("DETECTOR_TRACKING") ?? "bytetrack",
            ),
          sessionCooldownMs: o.sessionCooldown ??
            (envNumber("DETECTOR_SESSION_COOLDOWN_SEC") ?? 10) * 1000,
          spoolDir: o.spoolDir ?? envString("DETECTOR_SPOOL_DIR") ?? "./spool",
          backend: o.backend as BackendChoice,
          threads: o.threads,
          size: o.size,
          camera,
          display: o.display ?? camera.split(";")[0],
          drainTimeoutMs: o.drainTimeout,
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
