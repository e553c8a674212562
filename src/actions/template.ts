/**
 * Strict `{placeholder}` templates (docs/mpta.md "Actions"). An unknown placeholder is an error when
 * the template is compiled, never an empty string at run time.
 */
import { PLACEHOLDER_PATTERN } from "../mpta/mod.ts";

export type TemplateValue = string | number | boolean | null | undefined;
export type TemplateValues = Record<string, TemplateValue>;

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

type Part = { text: string } | { name: string };

export interface CompiledTemplate {
  source: string;
  /** Every placeholder name used, in order of first use. */
  placeholders: string[];
  render(values: TemplateValues): string;
}

/**
 * Splits a template into literal text and placeholders. Only `{name}` and `{branch.field}` are
 * placeholders (the rule the archive validator uses, src/mpta/placeholders.ts); any other brace is
 * literal text.
 */
export function parseTemplate(source: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER_PATTERN)) {
    if (m.index! > last) parts.push({ text: source.slice(last, m.index) });
    parts.push({ name: m[1] });
    last = m.index! + m[0].length;
  }
  if (last < source.length) parts.push({ text: source.slice(last) });
  return parts;
}

export function formatValue(v: TemplateValue): string {
  if (v === null || v === undefined) return "";
  return String(v);
}

/**
 * Compiles a plain-text template. `isKnown` decides which placeholder names exist; the error
 * lists every unknown one.
 */
export function compileTemplate(
  source: string,
  isKnown: (name: string) => boolean,
): CompiledTemplate {
  const parts = parseTemplate(source);
  const placeholders = [
    ...new Set(parts.flatMap((p) => "name" in p ? [p.name] : [])),
  ];
  checkKnown(placeholders, isKnown);
  return {
    source,
    placeholders,
    render(values) {
      let out = "";
      for (const p of parts) out += "text" in p ? p.text : formatValue(lookup(values, p.name));
      return out;
    },
  };
}

export function checkKnown(names: string[], isKnown: (name: string) => boolean): void {
  const unknown = names.filter((n) => !isKnown(n));
  if (unknown.length) {
    throw new TemplateError(
      `unknown placeholder${unknown.length > 1 ? "s" : ""} ${
        unknown.map((n) => `{${n}}`).join(", ")
      }`,
    );
  }
}

/** Looks a placeholder up; a value missing at run time is a bug in the caller. */
export function lookup(values: TemplateValues, name: string): TemplateValue {
  if (!(name in values)) throw new TemplateError(`no value for placeholder {${name}}`);
  return values[name];
}
