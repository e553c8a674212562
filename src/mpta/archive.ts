/**
 * Opening and validating `.mpta` archives (MPTA.md). `validateArchive` collects every problem;
 * `openArchive` throws an `MptaError` carrying them all.
 */
import type { ArchiveLimits } from "./limits.ts";
import type { PipelineArchive, ValidationError } from "./types.ts";

export interface OpenOptions {
  /** Caps checked from the central directory before inflating (defaults in limits.ts). */
  limits?: Partial<ArchiveLimits>;
  /**
   * Read every model file (ONNX metadata, shapes, output layout) and check the class names the
   * nodes use against it. Default true.
   */
  checkModels?: boolean;
  /** Label for messages (file name); defaults to the path or "archive". */
  name?: string;
}

export interface ValidationReport {
  /** Present when there are no errors. */
  archive?: PipelineArchive;
  errors: ValidationError[];
  /** Not fatal: unknown keys, defaults that look unintended. */
  warnings: ValidationError[];
}

/** Reads an archive from a path or bytes and validates it whole, collecting every problem. */
export function validateArchive(
  _source: string | Uint8Array,
  _opts: OpenOptions = {},
): Promise<ValidationReport> {
  throw new Error("not implemented yet");
}

/** Like `validateArchive`, but throws an `MptaError` (with `errors`) when anything is wrong. */
export function openArchive(
  _source: string | Uint8Array,
  _opts: OpenOptions = {},
): Promise<PipelineArchive> {
  throw new Error("not implemented yet");
}
