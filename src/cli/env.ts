/** Reads a number from an environment variable; a malformed value is a startup error naming it. */
export function envNumber(name: string): number | undefined {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw.trim() === "") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`environment variable ${name}="${raw}" is not a number`);
  return n;
}

export function envString(name: string): string | undefined {
  const raw = Deno.env.get(name);
  return raw === undefined || raw === "" ? undefined : raw;
}

/** Parses a CLI number option, naming the flag in the error. */
export function parseNumber(flag: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new Error(`${flag} expects a number between ${min} and ${max}, got "${value}"`);
    }
    return n;
  };
}

/** Parses durations like `500ms`, `10s`, `2m`, `1h` or a bare number of seconds into ms. */
export function parseDuration(flag: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
    if (!m) throw new Error(`${flag} expects a duration like 500ms, 10s, 2m, got "${value}"`);
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"]!;
    return Number(m[1]) * unit;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
