import { errorMessage, logger } from "../core/log.ts";

const log = logger("shutdown");
const tasks: (() => Promise<void> | void)[] = [];
let installed = false;
let stopping = false;

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
  const force = setTimeout(() => {
    log.error("cleanup took longer than 10 s, exiting anyway");
    Deno.exit(1);
  }, 10_000);
  for (const task of tasks.reverse()) {
    try {
      await task();
    } catch (err) {
      log.warn("cleanup step failed", { error: errorMessage(err) });
    }
  }
  clearTimeout(force);
  log.info("stopped");
  Deno.exit(code);
}
