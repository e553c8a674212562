import type { Command } from "commander";
import { FrameCache } from "../core/frame_cache.ts";
import { logger } from "../core/log.ts";
import { redactUrl } from "../core/redact.ts";
import type { ServeContext } from "../http/context.ts";
import { serveRouter } from "../http/serve_routes.ts";
import { startHttpServer } from "../http/server.ts";
import { createSource, parseNamedSource, sourceKinds } from "../sources/registry.ts";
import type { Source } from "../sources/source.ts";
import { collect, envString, parseDuration, parseNumber } from "./env.ts";
import { onShutdown } from "./shutdown.ts";

export interface ServeOptions {
  source: string[];
  host: string;
  port: number;
  targetFps: number;
  maxFrameAge: number;
  snapshotInterval: number;
  timeout: number;
  maxFrameBytes: number;
}

const log = logger("serve");

export function registerServe(program: Command): void {
  program.command("serve")
    .description(
      "Serve the newest frame of each camera: MJPEG streams, snapshots, SSE events, a live viewer.",
    )
    .option(
      "-s, --source <NAME=SPEC>",
      "add a camera (repeatable). SPEC forms:\n" +
        sourceKinds.map((k) => `  ${k.example}`).join("\n"),
      collect,
      [],
    )
    .option("--host <addr>", "address to bind; 0.0.0.0 exposes to the network (env HOST)")
    .option(
      "-p, --port <n>",
      "TCP port, 0 = any free port (env PORT)",
      parseNumber("--port", 0, 65535),
    )
    .option(
      "--target-fps <n>",
      "upper bound of frames per second sent to any client (env TARGET_FPS)",
      parseNumber("--target-fps", 0.1, 120),
    )
    .option(
      "--max-frame-age <s>",
      "dir: sources delete JPEG files older than this many seconds, 0 keeps all (env MAX_FRAME_AGE_S)",
      parseNumber("--max-frame-age", 0),
    )
    .option(
      "--snapshot-interval <dur>",
      "polling period of http(s):// snapshot sources",
      parseDuration("--snapshot-interval"),
      1000,
    )
    .option(
      "--timeout <dur>",
      "connect/request timeout of network sources",
      parseDuration("--timeout"),
      10_000,
    )
    .option(
      "--max-frame-bytes <n>",
      "largest JPEG accepted from any source",
      parseNumber("--max-frame-bytes", 1024),
      16 * 1024 * 1024,
    )
    .addHelpText(
      "after",
      `
Environment (the MJPEG server's names are honoured; flags win):
  FRAMES_DIR_ABS   watched folder, used as camera "frames" when no --source is given
  TARGET_FPS       default 30      MAX_FRAME_AGE_S  default 10
  HOST             default 127.0.0.1 (deny-by-default)   PORT  default 8080

Routes: /  /stream.mjpg  /snapshot.jpg  /cameras  /cameras/NAME/stream.mjpg
        /cameras/NAME/snapshot.jpg  /cameras/NAME/events  /healthz  /metrics

Examples:
  detector serve --source demo=testpattern:
  detector serve --source printer=tcp://127.0.0.1:9000 --port 8081
  FRAMES_DIR_ABS=/srv/frames TARGET_FPS=20 detector serve --host 0.0.0.0`,
    )
    .action(async (opts) => {
      await runServe({
        source: opts.source,
        host: opts.host ?? envString("HOST") ?? "127.0.0.1",
        port: opts.port ?? envIn("PORT", 0, 65535) ?? 8080,
        targetFps: opts.targetFps ?? envIn("TARGET_FPS", 0.1, 120) ?? 30,
        maxFrameAge: opts.maxFrameAge ?? envIn("MAX_FRAME_AGE_S", 0) ?? 10,
        snapshotInterval: opts.snapshotInterval,
        timeout: opts.timeout,
        maxFrameBytes: opts.maxFrameBytes,
      });
    });
}

/** An environment number checked like the flag it stands for; the error names the variable. */
function envIn(name: string, min: number, max = Infinity): number | undefined {
  const raw = envString(name);
  return raw === undefined ? undefined : parseNumber(name, min, max)(raw.trim());
}

export function sourceArgs(opts: ServeOptions): { name: string; spec: string }[] {
  const named = opts.source.map(parseNamedSource);
  const framesDir = envString("FRAMES_DIR_ABS");
  if (named.length === 0 && framesDir) named.push({ name: "frames", spec: `dir:${framesDir}` });
  const seen = new Set<string>();
  for (const { name } of named) {
    if (seen.has(name)) throw new Error(`camera name "${name}" is given twice`);
    seen.add(name);
  }
  return named;
}

export async function runServe(opts: ServeOptions): Promise<void> {
  const named = sourceArgs(opts);
  if (named.length === 0) {
    throw new Error(
      "no cameras: give --source NAME=SPEC (try --source demo=testpattern:) or set FRAMES_DIR_ABS",
    );
  }
  const cache = new FrameCache();
  const sources: Source[] = named.map(({ name, spec }) =>
    createSource(name, spec, cache, {
      intervalMs: opts.snapshotInterval,
      timeoutMs: opts.timeout,
      maxFrameAgeS: opts.maxFrameAge,
      maxFrameBytes: opts.maxFrameBytes,
    })
  );
  const shutdownController = new AbortController();
  const ctx: ServeContext = {
    cache,
    targetFps: opts.targetFps,
    shutdown: shutdownController.signal,
    defaultCamera: () => named[0]?.name,
  };
  const server = startHttpServer(serveRouter(ctx), opts.host, opts.port);
  for (const s of sources) s.start();
  onShutdown(async () => {
    shutdownController.abort();
    await Promise.all(sources.map((s) => s.stop()));
    await server.shutdown();
  });
  log.info(`listening on ${server.url}`, {
    cameras: named.map((n) => `${n.name}=${redactUrl(n.spec)}`).join(" "),
    targetFps: opts.targetFps,
    maxFrameAgeS: opts.maxFrameAge,
  });
  if (opts.host === "0.0.0.0" || opts.host === "::") {
    log.warn("bound to all interfaces: every host that can reach this port sees the cameras");
  }
  await server.finished;
}
