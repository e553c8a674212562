/**
 * Parses class names as ultralytics writes them in ONNX metadata: a Python dict literal
 * `{0: 'person', 1: "bicycle"}` (also accepted: a list literal, or JSON). No eval: a small
 * tokenizer for integers and quoted strings with Python escapes.
 */

export class ClassNamesError extends Error {}

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }
  peek(): string {
    this.skipSpace();
    return this.text[this.pos] ?? "";
  }
  expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected "${ch}"`);
    this.pos++;
  }
  fail(msg: string): never {
    throw new ClassNamesError(
      `${msg} at offset ${this.pos} of ${JSON.stringify(this.text.slice(0, 80))}`,
    );
  }
  int(): number {
    this.skipSpace();
    const m = /^-?\d+/.exec(this.text.slice(this.pos));
    if (!m) this.fail("expected an integer key");
    this.pos += m[0].length;
    return Number(m[0]);
  }
  string(): string {
    this.skipSpace();
    const q = this.text[this.pos];
    if (q !== "'" && q !== '"') this.fail("expected a quoted string");
    this.pos++;
    let out = "";
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++];
      if (ch === q) return out;
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      const e = this.text[this.pos++];
      const simple: Record<string, string> = {
        n: "\n",
        t: "\t",
        r: "\r",
        "\\": "\\",
        "'": "'",
        '"': '"',
        "0": "\0",
      };
      if (e in simple) out += simple[e];
      else if (e === "x" || e === "u" || e === "U") {
        const len = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = this.text.slice(this.pos, this.pos + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) this.fail("bad escape");
        out += String.fromCodePoint(parseInt(hex, 16));
        this.pos += len;
      } else out += "\\" + e;
    }
    this.fail("unterminated string");
  }
}

/** Class names by index from a `names` metadata value. Throws `ClassNamesError` when malformed. */
export function parseClassNames(literal: string): string[] {
  const c = new Cursor(literal);
  const byIndex = new Map<number, string>();
  const open = c.peek();
  if (open === "{") {
    c.pos++;
    while (c.peek() !== "}") {
      const peek = c.peek();
      const key = peek === "'" || peek === '"' ? Number(c.string()) : c.int();
      if (!Number.isInteger(key) || key < 0) c.fail("class index must be an integer ≥ 0");
      c.expect(":");
      if (byIndex.has(key)) c.fail(`class index ${key} appears twice`);
      byIndex.set(key, c.string());
      if (c.peek() === ",") c.pos++;
      else if (c.peek() !== "}") c.fail('expected "," or "}"');
    }
    c.pos++;
  } else if (open === "[") {
    c.pos++;
    while (c.peek() !== "]") {
      byIndex.set(byIndex.size, c.string());
      if (c.peek() === ",") c.pos++;
      else if (c.peek() !== "]") c.fail('expected "," or "]"');
    }
    c.pos++;
  } else c.fail("expected a dict or list literal");
  if (c.peek() !== "") c.fail("unexpected text after the literal");
  const names: string[] = [];
  for (let i = 0; i < byIndex.size; i++) {
    const n = byIndex.get(i);
    if (n === undefined) {
      return c.fail(`class indices are not 0..${byIndex.size - 1} (missing ${i})`);
    }
    names.push(n);
  }
  return names;
}

/** `imgsz` metadata (`[640, 640]` = [height, width], or `640`) → [width, height]. */
export function parseImgsz(value: string | undefined): [number, number] | undefined {
  if (!value) return undefined;
  const nums = value.match(/\d+/g)?.map(Number) ?? [];
  if (nums.length === 1 && nums[0] > 0) return [nums[0], nums[0]];
  if (nums.length === 2 && nums[0] > 0 && nums[1] > 0) return [nums[1], nums[0]];
  return undefined;
}
