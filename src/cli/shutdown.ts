import { errorMessage, logger } from "../core/mod.ts";

const log = logger("shutdown");
const tasks: (() => Promise<void> | void)[] = [];
let installed = false;
let stopping = false;
let timeoutMs = 10_000;
let forced: ReturnType<typeof setTimeout> | undefined;

/** Longest time between SIGINT/SIGTERM and the exit, whatever the servers answer. */
export function setShutdownTimeout(ms: number): void {
  timeoutMs = ms;
}

export function shutdownTimeout(): number {
  return timeoutMs;
}

/**
 * Exits with code 1 if the process is still alive `shutdownTimeout()` from now. Subcommands that
 * handle signals themselves (replay) call it when a signal arrives.
 */
export function armForcedExit(): void {
  if (forced !== undefined) return;
  forced = setTimeout(() => {
    log.error(`cleanup took longer than ${timeoutMs / 1000} s, exiting anyway`);
    Deno.exit(1);
  }, timeoutMs);
  // Only a deadline: a process that finishes its cleanup earlier exits then.
  Deno.unrefTimer(forced);
}

/** Registers cleanup run on SIGINT/SIGTERM (last registered runs first), then exits 0. */
export function onShutdown(task: () => Promise<void> | void): void {
  tasks.push(task);
  if (installed) return;
  installed = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => void shutdown(sig));
  }
}

export async function shutdown(reason: string, code = 0): Promise<never> {
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  log.info("stopping", { reason });
  armForcedExit();
  for (const task of tasks.reverse()) {
    try {
      await task();
    } catch (err) {
      log.warn("cleanup step failed", { error: errorMessage(err) });
    }
  }
  clearTimeout(forced);
  log.info("stopped");
  Deno.exit(code);
}
