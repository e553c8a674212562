import type { Command } from "commander";
import { type ConnectionLimits, defaultConnectionLimits } from "../http/front_door.ts";
import { envString, parseDuration, parseNumber } from "./env.ts";

const d = defaultConnectionLimits;

/** Connection hygiene flags of every HTTP server (`serve`, `run`, `replay --serve`). */
export function addHttpOptions(cmd: Command): Command {
  return cmd
    .option(
      "--max-connections <n>",
      `open client connections before new ones get 503, lowered to fit the open-file limit ` +
        `(env DETECTOR_MAX_CONNECTIONS, default ${d.maxConnections})`,
      parseNumber("--max-connections", 1, 1_000_000),
    )
    .option(
      "--header-timeout <dur>",
      `a connection must send its request head within this time (env DETECTOR_HEADER_TIMEOUT, ` +
        `default ${d.headerTimeoutMs / 1000}s)`,
      parseDuration("--header-timeout"),
    )
    .option(
      "--idle-timeout <dur>",
      `a kept-alive connection with no request this long is closed (env DETECTOR_IDLE_TIMEOUT, ` +
        `default ${d.idleTimeoutMs / 1000}s)`,
      parseDuration("--idle-timeout"),
    )
    .option(
      "--body-timeout <dur>",
      `a request body that stops arriving this long is dropped (env DETECTOR_BODY_TIMEOUT, ` +
        `default ${d.bodyTimeoutMs / 1000}s)`,
      parseDuration("--body-timeout"),
    );
}

function fromEnv(name: string, parse: (v: string) => number): number | undefined {
  const raw = envString(name);
  return raw === undefined ? undefined : parse(raw.trim());
}

export function httpLimits(o: Record<string, unknown>): ConnectionLimits {
  return {
    maxConnections: (o.maxConnections as number | undefined) ??
      fromEnv("DETECTOR_MAX_CONNECTIONS", parseNumber("DETECTOR_MAX_CONNECTIONS", 1)) ??
      d.maxConnections,
    headerTimeoutMs: (o.headerTimeout as number | undefined) ??
      fromEnv("DETECTOR_HEADER_TIMEOUT", parseDuration("DETECTOR_HEADER_TIMEOUT")) ??
      d.headerTimeoutMs,
    idleTimeoutMs: (o.idleTimeout as number | undefined) ??
      fromEnv("DETECTOR_IDLE_TIMEOUT", parseDuration("DETECTOR_IDLE_TIMEOUT")) ?? d.idleTimeoutMs,
    bodyTimeoutMs: (o.bodyTimeout as number | undefined) ??
      fromEnv("DETECTOR_BODY_TIMEOUT", parseDuration("DETECTOR_BODY_TIMEOUT")) ?? d.bodyTimeoutMs,
  };
}
