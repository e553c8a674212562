import { Command } from "commander";
import { setLogJson, setLogLevel } from "../core/log.ts";
import { VERSION } from "../version.ts";
import { registerDetect } from "./detect.ts";
import { envString, parseDuration } from "./env.ts";
import { setShutdownTimeout } from "./shutdown.ts";
import { registerMpta } from "./mpta.ts";
import { registerPrusa } from "./prusa.ts";
import { registerProbe } from "./probe.ts";
import { registerReplay } from "./replay.ts";
import { registerRun } from "./run.ts";
import { registerServe } from "./serve.ts";
import { registerToken } from "./token.ts";

/** The commander program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command("detector")
    .description(
      "Frames from cameras of every kind: keep the newest, serve it, run detection pipelines on it.",
    )
    .version(VERSION, "-V, --version")
    .option("--log-level <level>", "debug, info, warn or error (env DETECTOR_LOG_LEVEL)")
    .option("--log-json", "one JSON object per log line (env DETECTOR_LOG_FORMAT=json)")
    .option(
      "--shutdown-timeout <dur>",
      "after SIGINT/SIGTERM, exit at the latest this long later, spooling unsent writes " +
        "(env DETECTOR_SHUTDOWN_TIMEOUT, default 10s)",
      parseDuration("--shutdown-timeout"),
    )
    .showHelpAfterError("(run with --help for usage)")
    .hook("preAction", (cmd) => {
      const o = cmd.opts();
      if (o.logLevel) setLogLevel(o.logLevel);
      if (o.logJson) setLogJson(true);
      const envTimeout = envString("DETECTOR_SHUTDOWN_TIMEOUT");
      const timeout = o.shutdownTimeout as number | undefined ??
        (envTimeout ? parseDuration("DETECTOR_SHUTDOWN_TIMEOUT")(envTimeout) : undefined);
      if (timeout !== undefined) setShutdownTimeout(timeout);
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
