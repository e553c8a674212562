import type { Origin, Settings } from "../config/mod.ts";
import type { ConnectSettings } from "../prusa/mod.ts";
import { defaultStateDir } from "../prusa/mod.ts";
import type { EnvReader } from "../config/mod.ts";

/** Rows of the Prusa Connect connection, shared by `prusa upload` and serve's `--prusa-…`. */
export const connectKeys = [
  "prusaToken",
  "prusaTokenFile",
  "prusaFingerprint",
  "prusaFingerprintFile",
  "prusaServer",
  "prusaStateDir",
  "prusaTimeout",
] as const;

type ConnectKey = (typeof connectKeys)[number];

/** Resolved rows as connection settings; a token file flag beats the environment. */
export function connectSettings(
  v: Pick<Settings, ConnectKey>,
  origins: Record<ConnectKey, Origin>,
  env: EnvReader,
): Omit<ConnectSettings, "prefix" | "dryRun"> {
  return {
    server: v.prusaServer,
    token: origins.prusaToken === "flag" ? v.prusaToken : undefined,
    envToken: origins.prusaToken === "env" ? v.prusaToken : undefined,
    tokenFile: v.prusaTokenFile,
    fingerprint: origins.prusaFingerprint === "flag" ? v.prusaFingerprint : undefined,
    envFingerprint: origins.prusaFingerprint === "env" ? v.prusaFingerprint : undefined,
    fingerprintFile: v.prusaFingerprintFile,
    stateDir: v.prusaStateDir ?? defaultStateDir(env),
    timeoutMs: v.prusaTimeout,
  };
}
