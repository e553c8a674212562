export type SourceState = "idle" | "connecting" | "live" | "backoff" | "stopped" | "push";

/** What a source reports about itself; `/cameras`, `/healthz` and `/metrics` read it. */
export interface SourceStatus {
  state: SourceState;
  /** ms epoch when the state was entered. */
  since: number;
  /** The error of the current outage, secrets removed; cleared when frames flow again. */
  lastError?: string;
  /** ms epoch of `lastError`. */
  lastErrorAt?: number;
  /** The error of the last outage that has ended, with its time (ms epoch). */
  previousError?: { message: string; at: number };
  /** Redacted source spec, safe to show. */
  spec?: string;
  /** Source-specific extra facts (ffmpeg stderr tail, input fps, retries…). */
  detail?: Record<string, unknown>;
}

/** True while a camera delivers frames (pulled sources that are live, pushed cameras). */
export function isLive(status: SourceStatus): boolean {
  return status.state === "live" || status.state === "push";
}
