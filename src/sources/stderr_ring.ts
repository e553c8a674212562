/**
 * A bounded ring of a child's stderr lines, secrets removed before a line is stored: URLs lose
 * their passwords and every literal secret given (a URL's password, raw and percent-decoded) is
 * replaced by `***`. Lines split on \n and \r (ffmpeg progress lines end with \r).
 */
import { redactText } from "../core/mod.ts";

export class StderrRing {
  #lines: string[] = [];
  #partial = "";
  #decoder = new TextDecoder();
  #secrets: string[];
  /** Lines seen in total, including those that fell out of the ring. */
  total = 0;

  constructor(
    readonly maxLines = 64,
    readonly maxLineLength = 400,
    secrets: (string | undefined)[] = [],
  ) {
    this.#secrets = [...new Set(secrets.filter((s): s is string => !!s && s.length >= 3))]
      .sort((a, b) => b.length - a.length);
  }

  /** Feeds raw bytes; returns the complete lines they finished (already redacted). */
  push(chunk: Uint8Array): string[] {
    const text = this.#partial + this.#decoder.decode(chunk, { stream: true });
    const parts = text.split(/\r\n|\n|\r/);
    this.#partial = parts.pop() ?? "";
    if (this.#partial.length > this.maxLineLength * 4) {
      parts.push(this.#partial);
      this.#partial = "";
    }
    const added: string[] = [];
    for (const raw of parts) {
      const line = this.#clean(raw);
      if (line) {
        this.#add(line);
        added.push(line);
      }
    }
    return added;
  }

  /** Stores what is left of an unterminated last line (call when the stream ends). */
  flush(): string[] {
    const rest = this.#partial + this.#decoder.decode();
    this.#partial = "";
    const line = this.#clean(rest);
    if (!line) return [];
    this.#add(line);
    return [line];
  }

  /** The last `n` lines, oldest first. */
  tail(n = this.maxLines): string[] {
    return this.#lines.slice(-n);
  }

  /** Last matching line, newest first search. */
  findLast(pattern: RegExp): string | undefined {
    for (let i = this.#lines.length - 1; i >= 0; i--) {
      if (pattern.test(this.#lines[i])) return this.#lines[i];
    }
    return undefined;
  }

  clear(): void {
    this.#lines = [];
    this.#partial = "";
  }

  redact(text: string): string {
    let out = redactText(text);
    for (const s of this.#secrets) out = out.split(s).join("***");
    return out;
  }

  #clean(raw: string): string {
    // deno-lint-ignore no-control-regex
    const trimmed = raw.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "").trimEnd();
    if (!trimmed.trim()) return "";
    const line = this.redact(trimmed);
    return line.length > this.maxLineLength ? `${line.slice(0, this.maxLineLength)}…` : line;
  }

  #add(line: string): void {
    this.total++;
    this.#lines.push(line);
    if (this.#lines.length > this.maxLines) {
      this.#lines.splice(0, this.#lines.length - this.maxLines);
    }
  }
}

/** Secrets hidden in a URL-like spec: the password as written and percent-decoded. */
export function urlSecrets(spec: string): string[] {
  const m = /^[a-z][\w+.-]*:\/\/([^/@?#]*)@/i.exec(spec.replace(/^ffmpeg:/i, ""));
  if (!m) return [];
  const colon = m[1].indexOf(":");
  if (colon < 0) return [];
  const pass = m[1].slice(colon + 1);
  const out = [pass];
  try {
    out.push(decodeURIComponent(pass));
  } catch {
    // not percent-encoded
  }
  return out;
}
