import type { Settings } from "../config/mod.ts";
import type { ConnectionLimits } from "../http/mod.ts";

/** Connection hygiene rows of every HTTP server (`serve`, `run`, `replay --serve`). */
export const httpKeys = ["maxConnections", "headerTimeout", "idleTimeout", "bodyTimeout"] as const;

/** Resolved connection rows as the front door's limits. */
export function httpLimits(v: Pick<Settings, (typeof httpKeys)[number]>): ConnectionLimits {
  return {
    maxConnections: v.maxConnections,
    headerTimeoutMs: v.headerTimeout,
    idleTimeoutMs: v.idleTimeout,
    bodyTimeoutMs: v.bodyTimeout,
  };
}
