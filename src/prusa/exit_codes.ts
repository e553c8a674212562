/**
 * Exit codes of `detector prusa upload`, so cron jobs and systemd units can tell failures apart.
 * Bad flags exit 2 like every subcommand's usage errors; 1 is not used.
 */
export const ExitCode = {
  /** The snapshot was uploaded (or, with --dry-run, would have been). */
  ok: 0,
  /** Bad flags, a missing or malformed token/fingerprint, an unreadable token file. */
  config: 2,
  /** No usable frame: the source failed, gave no frame in time, or the frame is stale. */
  source: 3,
  /** Prusa Connect refused the credentials (401, 403, 400 invalid fingerprint). */
  auth: 4,
  /** Prusa Connect could not be reached or failed (timeout, network error, 5xx, other status). */
  server: 5,
} as const;

export type ExitCodeValue = typeof ExitCode[keyof typeof ExitCode];
