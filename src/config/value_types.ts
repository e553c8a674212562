/**
 * How a setting's value is typed by users and checked: each type parses what came from a flag,
 * the environment or a config file, and formats a value back the way a user would type it (for
 * `--help`). `parse` throws `InvalidValue` naming what it expects; the resolver adds where the
 * value came from.
 */

export class InvalidValue extends Error {
  constructor(readonly expects: string) {
    super(expects);
  }
}

export interface ValueType<T> {
  /** What a good value looks like: "a number between 0 and 65535". */
  readonly expects: string;
  parse(raw: unknown): T;
  format(value: T): string;
  /** A flag that may be given more than once, each adding an item. */
  readonly repeatable?: boolean;
}

function numberOf(raw: unknown): number {
  if (typeof raw === "number") return raw;
  if (typeof raw === "string" && raw.trim() !== "") return Number(raw.trim());
  return NaN;
}

export function num(min: number, max: number): ValueType<number> {
  const expects = `a number between ${min} and ${max}`;
  return {
    expects,
    parse(raw) {
      const n = numberOf(raw);
      if (!Number.isFinite(n) || n < min || n > max) throw new InvalidValue(expects);
      return n;
    },
    format: String,
  };
}

export function int(min: number, max: number): ValueType<number> {
  const expects = `a number between ${min} and ${max}`;
  return {
    expects,
    parse(raw) {
      const n = numberOf(raw);
      if (!Number.isFinite(n) || n < min || n > max) throw new InvalidValue(expects);
      if (!Number.isInteger(n)) throw new InvalidValue(`an integer between ${min} and ${max}`);
      return n;
    },
    format: String,
  };
}

/** An integer in a range, or one word standing for "no number" (`full`). */
export function intOr<W extends string>(word: W, min: number, max: number): ValueType<number | W> {
  const expects = `${word} or an integer between ${min} and ${max}`;
  const n = int(min, max);
  return {
    expects,
    parse(raw) {
      if (typeof raw === "string" && raw.trim().toLowerCase() === word) return word;
      try {
        return n.parse(raw);
      } catch {
        throw new InvalidValue(expects);
      }
    },
    format: String,
  };
}

const msPer = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
type TimeUnit = keyof typeof msPer;

/** A duration in milliseconds: `500ms`, `10s`, `2m`, `1h`, or a plain number in `plain` units. */
export function duration(
  plain: "s" | "ms",
  min = 0,
  max = 7 * 86_400_000,
): ValueType<number> {
  const expects = `a duration like 500ms, 10s, 2m (a plain number is ${
    plain === "s" ? "seconds" : "milliseconds"
  }) between ${formatDuration(min)} and ${formatDuration(max)}`;
  return {
    expects,
    parse(raw) {
      let ms: number;
      if (typeof raw === "number") ms = raw * msPer[plain];
      else {
        const m = typeof raw === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim()) : null;
        if (!m) throw new InvalidValue(expects);
        ms = Number(m[1]) * msPer[(m[2] as TimeUnit | undefined) ?? plain];
      }
      if (!Number.isFinite(ms) || ms < min || ms > max) throw new InvalidValue(expects);
      return ms;
    },
    format: formatDuration,
  };
}

/** `10000` → `10s`, `90000` → `90s`, `600000` → `10m`, `250` → `250ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  for (const unit of ["h", "m", "s"] as const) {
    if (ms % msPer[unit] === 0) return `${ms / msPer[unit]}${unit}`;
  }
  return `${ms}ms`;
}

const bytesPer = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
type ByteUnit = keyof typeof bytesPer;
const byteUnits: Record<string, ByteUnit> = {
  "": "B",
  b: "B",
  k: "KiB",
  kib: "KiB",
  m: "MiB",
  mib: "MiB",
  g: "GiB",
  gib: "GiB",
};

/** A size in bytes: `16MiB`, `512k`, `2G`, or a plain number in `plain` units (bytes or MiB). */
export function bytes(min: number, max: number, plain: "B" | "MiB" = "B"): ValueType<number> {
  const expects = `a size like 512KiB, 16MiB (a plain number is ${
    plain === "B" ? "bytes" : "MiB"
  }) between ${formatBytes(min)} and ${formatBytes(max)}`;
  return {
    expects,
    parse(raw) {
      let n: number;
      if (typeof raw === "number") n = raw * bytesPer[plain];
      else {
        const m = typeof raw === "string" ? /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim()) : null;
        const unit = m ? byteUnits[m[2].toLowerCase()] : undefined;
        if (!m || !unit) throw new InvalidValue(expects);
        n = Number(m[1]) * bytesPer[m[2] === "" ? plain : unit];
      }
      if (!Number.isInteger(n) || n < min || n > max) throw new InvalidValue(expects);
      return n;
    },
    format: formatBytes,
  };
}

/** `16777216` → `16MiB`, `4096` → `4KiB`, `1000` → `1000`. */
export function formatBytes(n: number): string {
  for (const unit of ["GiB", "MiB", "KiB"] as const) {
    if (n !== 0 && n % bytesPer[unit] === 0) return `${n / bytesPer[unit]}${unit}`;
  }
  return String(n);
}

export const str: ValueType<string> = {
  expects: "a non-empty string",
  parse(raw) {
    if (typeof raw !== "string" || raw === "") throw new InvalidValue(this.expects);
    return raw;
  },
  format: (v) => v,
};

/** One of a few words; `caseless` accepts any case and returns the listed spelling. */
export function oneOf<T extends string>(values: readonly T[], caseless = false): ValueType<T> {
  const expects = `one of ${values.join(", ")}`;
  return {
    expects,
    parse(raw) {
      const v = typeof raw === "string" && caseless ? raw.toLowerCase() : raw;
      if (typeof v !== "string" || !values.includes(v as T)) throw new InvalidValue(expects);
      return v as T;
    },
    format: (v) => v,
  };
}

/** A switch: flags give `true`; the environment and files say on/off, true/false, yes/no, 1/0. */
export const onOff: ValueType<boolean> = {
  expects: "on or off (also true/false, yes/no, 1/0)",
  parse(raw) {
    if (typeof raw === "boolean") return raw;
    const v = typeof raw === "string" ? raw.trim().toLowerCase() : raw;
    if (v === "on" || v === "true" || v === "yes" || v === "1" || v === 1) return true;
    if (v === "off" || v === "false" || v === "no" || v === "0" || v === 0) return false;
    throw new InvalidValue(this.expects);
  },
  format: (v) => (v ? "on" : "off"),
};

/** A repeatable flag: every occurrence adds one checked item. */
export function listOf<T>(item: ValueType<T>): ValueType<T[]> {
  return {
    expects: `a list of ${item.expects}`,
    repeatable: true,
    parse(raw) {
      const items = Array.isArray(raw) ? raw : [raw];
      return items.map((v) => item.parse(v));
    },
    format: (v) => v.map((x) => item.format(x)).join(" "),
  };
}

/** A type whose parser is a function throwing with its own message (`--size`, `--serve`). */
export function custom<T>(
  expects: string,
  parse: (raw: string) => T,
  format: (v: T) => string = String,
): ValueType<T> {
  return {
    expects,
    parse(raw) {
      if (typeof raw !== "string") throw new InvalidValue(expects);
      try {
        return parse(raw);
      } catch {
        throw new InvalidValue(expects);
      }
    },
    format,
  };
}
