import type { Logger } from "../core/log.ts";

/**
 * Logs a repeated complaint at most once per `everyMs` per key and says how many were left out,
 * so that a client hammering a bad URL cannot flood the log (stderr writes are synchronous).
 */
export function throttledWarn(log: Logger, everyMs = 10_000) {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key: string, msg: string, fields: Record<string, unknown> = {}): void => {
    const now = Date.now();
    const seen = last.get(key);
    if (seen && now - seen.at < everyMs) {
      seen.suppressed++;
      return;
    }
    if (last.size > 1000) last.clear();
    last.set(key, { at: now, suppressed: 0 });
    log.warn(msg, seen?.suppressed ? { ...fields, alsoSuppressed: seen.suppressed } : fields);
  };
}
