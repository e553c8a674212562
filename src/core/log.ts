/** One line per event on stderr: `time LEVEL scope: message key=value …`. Secrets must be redacted by callers. */
export type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Set by the command line at start (`--log-level`, `--log-json`, their environment names). */
let threshold: number = order.info;
let json = false;

export function setLogLevel(level: Level): void {
  threshold = order[level];
}

export function setLogJson(on: boolean): void {
  json = on;
}

const encoder = new TextEncoder();

function fmtValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v);
}

function write(level: Level, scope: string, msg: string, fields?: Record<string, unknown>) {
  if (order[level] < threshold) return;
  const time = new Date().toISOString();
  let line: string;
  if (json) {
    line = JSON.stringify({ time, level, scope, msg, ...fields });
  } else {
    line = `${time} ${level.toUpperCase().padEnd(5)} ${scope}: ${msg}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (v !== undefined) line += ` ${k}=${fmtValue(v)}`;
      }
    }
  }
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr closed: nothing sensible left to do
  }
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function logger(scope: string): Logger {
  return {
    debug: (m, f) => write("debug", scope, m, f),
    info: (m, f) => write("info", scope, m, f),
    warn: (m, f) => write("warn", scope, m, f),
    error: (m, f) => write("error", scope, m, f),
  };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
