/** Collects validation problems with JSON paths while reading an untrusted JSON value. */
import type { ValidationError } from "./types.ts";

export type Json = Record<string, unknown>;

const typeName = (v: unknown) =>
  v === null
    ? "null"
    : Array.isArray(v)
    ? "an array"
    : typeof v === "object"
    ? "an object"
    : `a ${typeof v}`;

const SHOWN_MAX = 200;

/** A value as JSON for an error message, cut to ~200 characters (attackers choose the value). */
export function shown(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    return "(a value too deeply nested to show)";
  }
  return text.length <= SHOWN_MAX
    ? text
    : `${text.slice(0, SHOWN_MAX)}… (${text.length} characters)`;
}

export class Checker {
  readonly errors: ValidationError[] = [];
  readonly warnings: ValidationError[] = [];

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  object(v: unknown, path: string): Json | undefined {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Json;
    this.error(path, `must be an object, got ${typeName(v)}`);
    return undefined;
  }

  /** Warns about keys not in `known`. */
  unknownKeys(o: Json, path: string, known: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) this.warn(`${path}.${k}`, "unknown key (ignored)");
    }
  }

  string(o: Json, key: string, path: string, required = false): string | undefined {
    const v = o[key];
    if (v === undefined) {
      if (required) this.error(`${path}.${key}`, "is required");
      return undefined;
    }
    if (typeof v !== "string") {
      this.error(`${path}.${key}`, `must be a string, got ${typeName(v)}`);
      return undefined;
    }
    if (required && v.trim() === "") {
      this.error(`${path}.${key}`, "must not be empty");
      return undefined;
    }
    return v;
  }

  number(
    o: Json,
    key: string,
    path: string,
    opts: { required?: boolean; min?: number; max?: number; integer?: boolean } = {},
  ): number | undefined {
    const v = o[key];
    if (v === undefined) {
      if (opts.required) this.error(`${path}.${key}`, "is required");
      return undefined;
    }
    const what = opts.integer ? "an integer" : "a number";
    if (typeof v !== "number" || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v))) {
      this.error(`${path}.${key}`, `must be ${what}, got ${typeName(v)} ${shown(v)}`);
      return undefined;
    }
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      const range = opts.max === undefined
        ? `≥ ${opts.min}`
        : `between ${opts.min} and ${opts.max}`;
      this.error(`${path}.${key}`, `must be ${range}, got ${v}`);
      return undefined;
    }
    return v;
  }

  boolean(o: Json, key: string, path: string, fallback: boolean): boolean {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") {
      this.error(`${path}.${key}`, `must be true or false, got ${typeName(v)}`);
      return fallback;
    }
    return v;
  }

  stringArray(
    o: Json,
    key: string,
    path: string,
    opts: { required?: boolean; nonEmpty?: boolean } = {},
  ): string[] | undefined {
    const v = o[key];
    const p = `${path}.${key}`;
    if (v === undefined) {
      if (opts.required) this.error(p, "is required");
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.error(p, `must be an array of strings, got ${typeName(v)}`);
      return undefined;
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item !== "string" || item === "") {
        this.error(`${p}[${i}]`, `must be a non-empty string, got ${typeName(item)}`);
      } else out.push(item);
    });
    if (out.length !== v.length) return undefined;
    if (opts.nonEmpty && out.length === 0) this.error(p, "must name at least one class");
    return out;
  }

  array(o: Json, key: string, path: string): unknown[] {
    const v = o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.error(`${path}.${key}`, `must be an array, got ${typeName(v)}`);
      return [];
    }
    return v;
  }
}
