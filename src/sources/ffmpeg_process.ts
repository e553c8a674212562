/**
 * Child-process hygiene for ffmpeg/ffprobe: every child is tracked from spawn to reap, killed
 * with SIGTERM then SIGKILL after a grace period, and its exit status is always awaited so no
 * zombie remains. Where util-linux `setpriv` exists the child also gets a parent-death signal,
 * so it dies even when the detector itself is SIGKILLed.
 */
import { logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";

const log = logger("children");

export interface TrackedChild {
  readonly pid: number;
  /** Program name (`ffmpeg`, `ffprobe`). */
  readonly name: string;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves once the child has exited and been reaped. */
  readonly status: Promise<Deno.CommandStatus>;
  readonly exited: boolean;
  /** SIGTERM, SIGKILL after `graceMs`; resolves when reaped. Safe to call many times. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

const live = new Map<number, TrackedChild>();
let setprivPath: string | null | undefined;

function findSetpriv(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (Deno.build.os !== "linux") return null;
  for (const p of ["/usr/bin/setpriv", "/bin/setpriv"]) {
    try {
      if (Deno.statSync(p).isFile) setprivPath = p;
    } catch {
      // not there
    }
    if (setprivPath) break;
  }
  return setprivPath;
}

export const DEFAULT_GRACE_MS = 3000;

const programs = { ffmpeg: "ffmpeg", ffprobe: "ffprobe" };

/** Names other ffmpeg and ffprobe programs than the ones on the PATH; set once at start. */
export function setFfmpegPrograms(p: { ffmpeg: string; ffprobe: string }): void {
  Object.assign(programs, p);
}

export function ffmpegPath(): string {
  return programs.ffmpeg;
}

export function ffprobePath(): string {
  return programs.ffprobe;
}

/**
 * Spawns `cmd args…` with piped stdout/stderr, no stdin, and tracks it until it is reaped.
 * `name` groups children for counting (defaults to the program's file name).
 */
export function spawnTracked(
  cmd: string,
  args: string[],
  name = cmd.split("/").pop() ?? cmd,
): TrackedChild {
  const setpriv = findSetpriv();
  const proc = new Deno.Command(setpriv ?? cmd, {
    args: setpriv ? ["--pdeathsig", "KILL", "--", cmd, ...args] : args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pid = proc.pid;
  let exited = false;
  let stopping: Promise<Deno.CommandStatus> | undefined;
  const status = proc.status.then((s) => {
    exited = true;
    live.delete(pid);
    return s;
  });
  const child: TrackedChild = {
    pid,
    name,
    stdout: proc.stdout,
    stderr: proc.stderr,
    status,
    get exited() {
      return exited;
    },
    stop(graceMs = DEFAULT_GRACE_MS) {
      if (exited) return status;
      if (stopping) return stopping;
      stopping = (async () => {
        signal(proc, "SIGTERM");
        const timer = setTimeout(() => {
          if (!exited) {
            log.warn("child ignored SIGTERM, killing", { pid, name: child.name, graceMs });
            signal(proc, "SIGKILL");
          }
        }, graceMs);
        try {
          return await status;
        } finally {
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
  live.set(pid, child);
  return child;
}

function signal(proc: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    proc.kill(sig);
  } catch {
    // already exited
  }
}

/** Pids of children spawned here that have not been reaped yet (ffmpeg and ffprobe). */
export function liveChildPids(name?: string): number[] {
  return [...live.values()].filter((c) => !name || c.name === name).map((c) => c.pid);
}

/** Number of live ffmpeg children of this process. */
export function liveFfmpegChildren(): number {
  return liveChildPids("ffmpeg").length;
}

/** Stops every tracked child (SIGTERM, SIGKILL after grace) and waits until all are reaped. */
export async function stopAllChildren(graceMs = DEFAULT_GRACE_MS): Promise<void> {
  const all = [...live.values()];
  if (all.length) log.info("stopping child processes", { count: all.length });
  await Promise.all(all.map((c) => c.stop(graceMs)));
}

/** Shows the number of live ffmpeg children through `metrics`; the returned function stops it. */
export function collectFfmpegChildren(metrics: Metrics): () => void {
  return metrics.collect(() => [{
    name: "detector_ffmpeg_children",
    type: "gauge",
    help: "Live ffmpeg child processes",
    value: liveFfmpegChildren(),
  }]);
}
