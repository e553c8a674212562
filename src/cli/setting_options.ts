/** Commander glue of the settings table: one option per row, and the flags back out of it. */
import { type Command, Option } from "commander";
import {
  type CommandSettings,
  type ConfigFile,
  describeSetting,
  flagSpec,
  processEnv,
  type Resolved,
  resolveSettings,
  type SettingKey,
  settings,
} from "../config/mod.ts";

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds an option for every row of `spec` that has a flag; values stay as typed. */
export function addSettingOptions<K extends SettingKey>(
  cmd: Command,
  spec: CommandSettings<K>,
): Command {
  for (const key of spec.keys) {
    const flag = flagSpec(key, spec);
    if (!flag) continue;
    const opt = new Option(flag, describeSetting(key, spec));
    if (settings[key].type.repeatable) opt.argParser(collect);
    cmd.addOption(opt);
  }
  return cmd;
}

/** The flags commander parsed for the rows of `spec`, keyed by setting. */
export function settingFlags<K extends SettingKey>(
  cmd: Command,
  spec: CommandSettings<K>,
): { [P in K]?: unknown } {
  const opts = cmd.opts();
  const flags: { [P in K]?: unknown } = {};
  for (const key of spec.keys) {
    const flag = flagSpec(key, spec);
    if (flag) flags[key] = opts[new Option(flag).attributeName()];
  }
  return flags;
}

/** Resolves the rows of `spec` from this command's flags, the process environment and `file`. */
export function resolveCommand<K extends SettingKey>(
  cmd: Command,
  spec: CommandSettings<K>,
  file?: ConfigFile,
): Resolved<K> {
  return resolveSettings(spec, settingFlags(cmd, spec), processEnv, file);
}
