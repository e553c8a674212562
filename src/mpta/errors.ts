import type { ValidationError } from "./types.ts";

/** Thrown by `openArchive` when an archive is unusable; `errors` holds every problem found. */
export class MptaError extends Error {
  readonly errors: ValidationError[];
  constructor(errors: ValidationError[], source = "archive") {
    super(
      `${source}: ${errors.length} problem${errors.length === 1 ? "" : "s"}: ` +
        errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`).join("; ") +
        (errors.length > 5 ? ` (and ${errors.length - 5} more)` : ""),
    );
    this.name = "MptaError";
    this.errors = errors;
  }
}
