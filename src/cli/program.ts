import { Command } from "commander";
import { setLogJson, setLogLevel } from "../core/log.ts";
import { VERSION } from "../version.ts";
import { registerDetect } from "./detect.ts";
import { registerMpta } from "./mpta.ts";
import { registerPrusa } from "./prusa.ts";
import { registerProbe } from "./probe.ts";
import { registerReplay } from "./replay.ts";
import { registerRun } from "./run.ts";
import { registerServe } from "./serve.ts";
import { registerToken } from "./token.ts";

/** Exit code of a usage error: bad flags or arguments, unreadable input, bad configuration. */
export const USAGE_ERROR = 2;

/** The commander program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command("detector")
    .description(
      "Frames from cameras of every kind: keep the newest, serve it, run detection pipelines on it.",
    )
    .version(VERSION, "-V, --version")
    .option("--log-level <level>", "debug, info, warn or error (env DETECTOR_LOG_LEVEL)")
    .option("--log-json", "one JSON object per log line (env DETECTOR_LOG_FORMAT=json)")
    .showHelpAfterError("(run with --help for usage)")
    // Usage errors (unknown option, missing argument, bad value) exit 2 in every subcommand;
    // subcommands inherit this when they are registered below.
    .exitOverride((err) => Deno.exit(err.exitCode === 0 ? 0 : USAGE_ERROR))
    .hook("preAction", (cmd) => {
      const o = cmd.opts();
      if (o.logLevel) setLogLevel(o.logLevel);
      if (o.logJson) setLogJson(true);
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
