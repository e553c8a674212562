import { Command } from "commander";
import { commandSettings } from "../config/mod.ts";
import { setLogJson, setLogLevel } from "../core/mod.ts";
import { disableNativeBackend } from "../inference/mod.ts";
import { setProcessThreadBudget } from "../inference/mod.ts";
import { setModelInstances, setOrtSpinning, setTurboJpeg } from "../inference/mod.ts";
import { setFfmpegPrograms } from "../sources/mod.ts";
import { VERSION } from "../version.ts";
import { registerDetect } from "./detect.ts";
import { setShutdownTimeout } from "./shutdown.ts";
import { registerMpta } from "./mpta.ts";
import { registerPrusa } from "./prusa.ts";
import { registerProbe } from "./probe.ts";
import { registerReplay } from "./replay.ts";
import { registerRun } from "./run.ts";
import { registerServe } from "./serve.ts";
import { addSettingOptions, resolveCommand } from "./setting_options.ts";
import { registerToken } from "./token.ts";

/** Exit code of a usage error: bad flags or arguments, unreadable input, bad configuration. */
export const USAGE_ERROR = 2;

/** Settings of the whole process, applied before any subcommand runs. */
const processSettings = commandSettings([
  "logLevel",
  "logFormat",
  "ffmpeg",
  "ffprobe",
  "nativeBackend",
  "shutdownTimeout",
  "threadBudget",
  "modelInstances",
  "ortSpinning",
  "turbojpeg",
]);

/** The commander program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command("detector")
    .description(
      "Frames from cameras of every kind: keep the newest, serve it, run detection pipelines on it.",
    )
    .version(VERSION, "-V, --version");
  addSettingOptions(program, processSettings)
    .showHelpAfterError("(run with --help for usage)")
    // Usage errors (unknown option, missing argument, bad value) exit 2 in every subcommand;
    // subcommands inherit this when they are registered below.
    .exitOverride((err) => Deno.exit(err.exitCode === 0 ? 0 : USAGE_ERROR))
    .hook("preAction", (cmd) => {
      const { values: v } = resolveCommand(cmd, processSettings);
      setLogLevel(v.logLevel);
      setLogJson(v.logFormat === "json");
      setFfmpegPrograms({ ffmpeg: v.ffmpeg, ffprobe: v.ffprobe });
      disableNativeBackend(!v.nativeBackend);
      setShutdownTimeout(v.shutdownTimeout);
      setProcessThreadBudget(v.threadBudget);
      setModelInstances(v.modelInstances);
      setOrtSpinning(v.ortSpinning);
      setTurboJpeg(v.turbojpeg);
    });
  registerServe(program);
  registerToken(program);
  registerPrusa(program);
  registerRun(program);
  registerMpta(program);
  registerDetect(program);
  registerProbe(program);
  registerReplay(program);
  return program;
}
