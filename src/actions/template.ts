/**
 * Strict `{placeholder}` templates (MPTA.md "Actions"). `{name}` and `{branchId.field}` are
 * placeholders, `{{` and `}}` are literal braces. An unknown placeholder is an error when the
 * template is compiled, never an empty string at run time.
 */

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

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)?$/;

/** Splits a template into literal text and placeholders; throws on unbalanced braces. */
export function parseTemplate(source: string): Part[] {
  const parts: Part[] = [];
  let text = "";
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "{") {
      if (source[i + 1] === "{") {
        text += "{";
        i++;
        continue;
      }
      const end = source.indexOf("}", i + 1);
      if (end < 0) throw new TemplateError(`unclosed "{" at position ${i} in "${source}"`);
      const name = source.slice(i + 1, end).trim();
      if (!NAME.test(name)) {
        throw new TemplateError(`"{${name}}" is not a placeholder name (position ${i})`);
      }
      if (text) parts.push({ text });
      text = "";
      parts.push({ name });
      i = end;
    } else if (c === "}") {
      if (source[i + 1] === "}") {
        text += "}";
        i++;
        continue;
      }
      throw new TemplateError(`unmatched "}" at position ${i} in "${source}" (write "}}")`);
    } else {
      text += c;
    }
  }
  if (text) parts.push({ text });
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
