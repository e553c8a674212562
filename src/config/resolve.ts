/**
 * The pure resolver: flags > environment > config file > defaults, every value checked by its
 * row's type; an error names where the bad value came from (`--port`, `environment variable
 * PORT`, `cameras.json: "port"`).
 */
import { type AnySetting, type SettingKey, type Settings, settings } from "./settings.ts";
import { InvalidValue } from "./value_types.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export type EnvReader = (name: string) => string | undefined;

export interface ConfigFile {
  /** Shown in errors, e.g. the path given to `--config`. */
  name: string;
  values: Record<string, unknown>;
  /** Line of each key, when the format has lines (YAML): errors then say `file:line`. */
  lines?: Record<string, number>;
  /** Keys may also be named like the subcommand's flags (`target-fps`, `prusa-token`). */
  flagKeys?: boolean;
}

/** Which rows a subcommand uses, and how. */
export interface CommandSettings<K extends SettingKey> {
  keys: readonly K[];
  /** Flags of these rows get a prefix in this subcommand (serve: `--prusa-token`). */
  prefix?: { [P in K]?: string };
  /** Defaults that differ in this subcommand, each with its reason beside it. */
  defaults?: { [P in K]?: Settings[P] };
}

export function commandSettings<K extends SettingKey>(
  keys: readonly K[],
  opts: Omit<CommandSettings<K>, "keys"> = {},
): CommandSettings<K> {
  const flags = new Set<string>();
  for (const k of keys) {
    const f = flagName(k, { keys, ...opts });
    if (!f) continue;
    if (flags.has(f)) throw new Error(`two settings use the flag ${f}`);
    flags.add(f);
  }
  return { keys, ...opts };
}

export type Origin = "flag" | "env" | "file" | "default";

export interface Resolved<K extends SettingKey> {
  values: Pick<Settings, K>;
  /** Where each value came from. */
  origins: Record<K, Origin>;
  /** Keys of the config file that no row of this subcommand reads. */
  unknownFileKeys: string[];
}

function row(key: SettingKey): AnySetting {
  return settings[key];
}

/** The long flag of a row in a subcommand (`--prusa-timeout`), or undefined. */
export function flagName<K extends SettingKey>(
  key: K,
  spec: CommandSettings<K>,
): string | undefined {
  const long = row(key).flag?.match(/--([a-z0-9-]+)/)?.[1];
  return long === undefined ? undefined : `--${spec.prefix?.[key] ?? ""}${long}`;
}

/** The flag as commander takes it (`-p, --port <n>`), with the subcommand's prefix. */
export function flagSpec<K extends SettingKey>(
  key: K,
  spec: CommandSettings<K>,
): string | undefined {
  const flag = row(key).flag;
  const prefix = spec.prefix?.[key];
  if (!flag || !prefix) return flag;
  return flag.replace(/^-\w, /, "").replace(/--/, `--${prefix}`);
}

export function defaultOf<K extends SettingKey>(key: K, spec: CommandSettings<K>): unknown {
  return spec.defaults && key in spec.defaults ? spec.defaults[key] : row(key).default;
}

/** Help text of a row: what it does, its environment name and its default as users type it. */
export function describeSetting<K extends SettingKey>(key: K, spec: CommandSettings<K>): string {
  const s = row(key);
  const notes: string[] = [];
  if (s.env && !s.help.includes(`env ${s.env}`)) notes.push(`env ${s.env}`);
  const d = defaultOf(key, spec);
  const shown = d === undefined || (Array.isArray(d) && d.length === 0) || s.flagValue !== undefined
    ? s.defaultText
    : s.type.format(d);
  if (shown !== undefined) notes.push(`default ${shown}`);
  return notes.length ? `${s.help} (${notes.join(", ")})` : s.help;
}

function given(v: unknown): boolean {
  return v !== undefined && v !== null && v !== "";
}

function parse(s: AnySetting, raw: unknown, where: string): unknown {
  try {
    return s.type.parse(raw);
  } catch (err) {
    if (!(err instanceof InvalidValue)) throw err;
    throw new ConfigError(`${where} expects ${err.expects}, got ${JSON.stringify(raw)}`);
  }
}

/** Merges flags > environment > config file > defaults for the rows of one subcommand. */
export function resolveSettings<K extends SettingKey>(
  spec: CommandSettings<K>,
  flags: { [P in K]?: unknown },
  env: EnvReader,
  file?: ConfigFile,
): Resolved<K> {
  const values: Record<string, unknown> = {};
  const origins: Record<string, Origin> = {};
  const fileKeys = new Set<string>();
  for (const key of spec.keys) {
    const s = row(key);
    const flag = file?.flagKeys ? flagName(key, spec)?.slice(2) : undefined;
    const names = [...s.file ?? [], ...flag ? [flag] : []];
    for (const k of names) fileKeys.add(k);
    let value = defaultOf(key, spec);
    let origin: Origin = "default";
    const fileKey = file && names.find((k) => given(file.values[k]));
    if (file && fileKey) {
      const line = file.lines?.[fileKey];
      const where = `${file.name}${line ? `:${line}` : ""}: "${fileKey}"`;
      value = parse(s, file.values[fileKey], where);
      origin = "file";
    }
    const envValue = s.env ? env(s.env) : undefined;
    if (s.env && given(envValue)) {
      value = parse(s, envValue, `environment variable ${s.env}`);
      origin = "env";
    }
    const flagValue = flags[key];
    if (flagValue !== undefined && !(Array.isArray(flagValue) && flagValue.length === 0)) {
      const raw = flagValue === true && s.flagValue !== undefined ? s.flagValue : flagValue;
      value = parse(s, raw, flagName(key, spec) ?? key);
      origin = "flag";
    }
    values[key] = value;
    origins[key] = origin;
  }
  const unknownFileKeys = file ? Object.keys(file.values).filter((k) => !fileKeys.has(k)) : [];
  return {
    values: values as Pick<Settings, K>,
    origins: origins as Record<K, Origin>,
    unknownFileKeys,
  };
}

/** Reads a JSON config file holding one object; errors name the file. */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError(`--config ${path}: ${err instanceof Error ? err.message : err}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `--config ${path} is not valid JSON: ${err instanceof Error ? err.message : err}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`--config ${path} must hold a JSON object`);
  }
  return { name: path, values: parsed as Record<string, unknown> };
}
