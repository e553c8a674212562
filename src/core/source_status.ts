export type SourceState = "idle" | "connecting" | "live" | "backoff" | "stopped" | "push";

/** What a source reports about itself; `/cameras` and `/metrics` read it. */
export interface SourceStatus {
  state: SourceState;
  /** ms epoch when the state was entered. */
  since: number;
  /** Last error, secrets removed. */
  lastError?: string;
  /** Redacted source spec, safe to show. */
  spec?: string;
  /** Source-specific extra facts (ffmpeg stderr tail, input fps, retries…). */
  detail?: Record<string, unknown>;
}
