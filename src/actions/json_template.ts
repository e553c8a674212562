/**
 * Templates that look like JSON (`{"class":"{class}","confidence":{confidence}}`) are parsed once
 * into a JSON value and rendered by substituting placeholders as JSON strings and numbers, never by
 * pasting text into JSON: a value holding `"` or `\` cannot break the message.
 */
import {
  checkKnown,
  type CompiledTemplate,
  compileTemplate,
  formatValue,
  lookup,
  TemplateError,
  type TemplateValue,
  type TemplateValues,
} from "./template.ts";
import { PLACEHOLDER_PATTERN } from "../mpta/mod.ts";

type Node =
  | { kind: "literal"; value: unknown }
  | { kind: "string"; parts: ({ text: string } | { name: string })[] }
  | { kind: "raw"; name: string }
  | { kind: "array"; items: Node[] }
  | { kind: "object"; entries: [Node, Node][] };

/** `{"…` or `{}` or `[` — a placeholder-only start like `{class} seen` is plain text. */
export function looksLikeJson(source: string): boolean {
  const t = source.trim();
  if (t.startsWith("[") && t.endsWith("]")) return true;
  return t.startsWith("{") && t.endsWith("}") && /^\{\s*("|\})/.test(t);
}

/** The validator's placeholder rule (src/mpta/placeholders.ts), anchored at the current position. */
const PLACEHOLDER_AT = new RegExp(`^${PLACEHOLDER_PATTERN.source}`);

/** A private-use character marks placeholders while the JSON text is parsed. */
const SENTINEL = "\uE000";

/**
 * Compiles a JSON-looking template. Placeholders may stand inside strings (`"{class}"`) or as
 * whole values (`{confidence}`): the latter become numbers, booleans, null or strings according
 * to the value's type.
 */
export function compileJsonTemplate(
  source: string,
  isKnown: (name: string) => boolean,
): CompiledTemplate {
  if (source.includes(SENTINEL) || /\\ue000/i.test(source)) {
    throw new TemplateError("template contains the reserved character U+E000");
  }
  const names: string[] = [];
  // Replace every placeholder with a sentinel string so the text parses as JSON.
  let text = "";
  let inString = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (inString) {
      if (c === "\\") {
        text += c + (source[i + 1] ?? "");
        i++;
        continue;
      }
      if (c === '"') {
        inString = false;
        text += c;
        continue;
      }
    } else if (c === '"') {
      inString = true;
      text += c;
      continue;
    }
    if (c === "{") {
      const m = PLACEHOLDER_AT.exec(source.slice(i));
      if (m) {
        const idx = names.push(m[1]) - 1;
        const token = `${SENTINEL}${idx}${SENTINEL}`;
        text += inString ? token : `"${SENTINEL}R${token}"`;
        i += m[0].length - 1;
        continue;
      }
    }
    text += c;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TemplateError(
      `message looks like JSON but is not valid JSON: ${(err as Error).message}`,
    );
  }
  const placeholders = [...new Set(names)];
  checkKnown(placeholders, isKnown);
  const tree = toNode(parsed, names);
  return {
    source,
    placeholders,
    render: (values) => JSON.stringify(renderNode(tree, values)),
  };
}

function toNode(v: unknown, names: string[]): Node {
  if (typeof v === "string") {
    const raw = new RegExp(`^${SENTINEL}R${SENTINEL}(\\d+)${SENTINEL}$`).exec(v);
    if (raw) return { kind: "raw", name: names[Number(raw[1])] };
    if (!v.includes(SENTINEL)) return { kind: "literal", value: v };
    const parts: ({ text: string } | { name: string })[] = [];
    const re = new RegExp(`${SENTINEL}(\\d+)${SENTINEL}`, "g");
    let last = 0;
    for (const m of v.matchAll(re)) {
      if (m.index! > last) parts.push({ text: v.slice(last, m.index) });
      parts.push({ name: names[Number(m[1])] });
      last = m.index! + m[0].length;
    }
    if (last < v.length) parts.push({ text: v.slice(last) });
    return { kind: "string", parts };
  }
  if (Array.isArray(v)) return { kind: "array", items: v.map((x) => toNode(x, names)) };
  if (v !== null && typeof v === "object") {
    return {
      kind: "object",
      entries: Object.entries(v).map(([k, x]) => [toNode(k, names), toNode(x, names)]),
    };
  }
  return { kind: "literal", value: v };
}

function rawValue(v: TemplateValue): unknown {
  if (v === undefined) return null;
  if (typeof v === "number" && !Number.isFinite(v)) return null;
  return v;
}

function renderNode(n: Node, values: TemplateValues): unknown {
  switch (n.kind) {
    case "literal":
      return n.value;
    case "raw":
      return rawValue(lookup(values, n.name));
    case "string":
      return n.parts.map((p) => "text" in p ? p.text : formatValue(lookup(values, p.name)))
        .join("");
    case "array":
      return n.items.map((x) => renderNode(x, values));
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of n.entries) out[String(renderNode(k, values))] = renderNode(v, values);
      return out;
    }
  }
}

/** Compiles a message: JSON-looking ones as JSON values, others as plain text. */
export function compileMessageTemplate(
  source: string,
  isKnown: (name: string) => boolean,
): CompiledTemplate {
  return looksLikeJson(source)
    ? compileJsonTemplate(source, isKnown)
    : compileTemplate(source, isKnown);
}
