/** JSON.parse with errors that say where: line and column (1-based) of the problem. */

export class JsonSyntaxError extends Error {
  constructor(message: string, readonly line: number, readonly column: number) {
    super(message);
  }
}

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Parses JSON text (a leading BOM is allowed); throws `JsonSyntaxError` with line/column. */
export function parseJsonText(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /at position (\d+)/.exec(msg);
    const offset = m ? Number(m[1]) : body.length;
    const { line, column } = lineColumn(body, offset);
    const reason = msg.replace(/\s*(in JSON )?at position \d+.*$/, "").replace(
      /^JSON\.parse: /,
      "",
    );
    throw new JsonSyntaxError(
      `invalid JSON at line ${line}, column ${column}: ${reason}`,
      line,
      column,
    );
  }
}
