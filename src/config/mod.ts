/**
 * The configuration layer: one table of settings (`settings.ts`), their value types
 * (`value_types.ts`) and the pure resolver (`resolve.ts`). Subcommands pick their rows with
 * `commandSettings` and resolve them with `resolveSettings(spec, flags, env, file)`.
 */
export {
  type CommandSettings,
  commandSettings,
  ConfigError,
  type ConfigFile,
  defaultOf,
  describeSetting,
  type EnvReader,
  flagName,
  flagSpec,
  type Origin,
  readConfigFile,
  type Resolved,
  resolveSettings,
} from "./resolve.ts";
export {
  type AnySetting,
  type Setting,
  type SettingKey,
  type Settings,
  settings,
} from "./settings.ts";
export { formatBytes, formatDuration, InvalidValue, type ValueType } from "./value_types.ts";
export { processEnv } from "./process_env.ts";
export * from "./cameras_file.ts";
