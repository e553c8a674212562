import { type Child, spawnChild } from "./process.ts";

const mainTs = new URL("../../main.ts", import.meta.url).pathname;

export interface Detector extends Child {
  url: string;
}

/** Runs `main.ts` (the binary's entry point) with the given arguments; nothing else. */
export function runDetector(args: string[], env: Record<string, string> = {}): Child {
  return spawnChild(Deno.execPath(), ["run", "-A", mainTs, ...args], {
    env: { DETECTOR_LOG_LEVEL: "debug", ...env },
  });
}

/**
 * Starts a long-running subcommand (`serve`, `run`) on a free port and waits until it prints
 * `listening on http://…`.
 */
export async function startDetector(
  args: string[],
  env: Record<string, string> = {},
): Promise<Detector> {
  const child = runDetector([...args, ...(args.includes("--port") ? [] : ["--port", "0"])], env);
  try {
    const m = await child.waitFor(/listening on (http:\/\/[^\s]+)/, 30_000);
    return { ...child, url: m[1] };
  } catch (err) {
    await child.stop();
    throw err;
  }
}
