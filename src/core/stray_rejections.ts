/**
 * Keeps the process alive when a promise rejects with nobody to handle it. That is a bug, most
 * often in a library reacting to a dropped connection; left alone, Deno ends the process and every
 * camera and pipeline in it. Each one is counted (`detector_unhandled_rejections_total`) and logged
 * as an error with its stack, at most 5 lines per message a minute.
 */
import { errorMessage, logger } from "./log.ts";
import { LogThrottle } from "./log_throttle.ts";
import type { Metrics } from "./metrics.ts";
import { redactText } from "./redact.ts";

const log = logger("process");

export function surviveStrayRejections(metrics: Metrics): void {
  const throttle = new LogThrottle({ burst: 5, windowMs: 60_000 });
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    metrics.inc(
      "detector_unhandled_rejections_total",
      "Promise rejections nobody handled (a bug: logged with its stack, the process goes on)",
    );
    const error = redactText(errorMessage(e.reason));
    const suppressed = throttle.pass(error);
    if (suppressed === undefined) return;
    log.error("a promise rejected with nobody to handle it; the process goes on", {
      error,
      stack: e.reason instanceof Error && e.reason.stack ? redactText(e.reason.stack) : undefined,
      ...(suppressed > 0 ? { suppressed } : {}),
    });
  });
}
