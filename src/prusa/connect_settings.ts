import { logger } from "../core/mod.ts";
import { redactUrl } from "../core/mod.ts";
import { ConnectClient } from "./connect_client.ts";
import { readFingerprint, readToken } from "./credentials.ts";
import { loadOrCreateFingerprint } from "./fingerprint.ts";

const log = logger("prusa");

/**
 * Connection settings as resolved by the command line; `prefix` is "--" or "--prusa-". The token
 * and fingerprint are kept apart by origin because a file flag beats the environment.
 */
export interface ConnectSettings {
  prefix: string;
  server: string;
  /** `--token` */
  token?: string;
  tokenFile?: string;
  /** `PRUSA_CONNECT_TOKEN` */
  envToken?: string;
  fingerprint?: string;
  fingerprintFile?: string;
  /** `PRUSA_CONNECT_FINGERPRINT` */
  envFingerprint?: string;
  stateDir: string;
  timeoutMs: number;
  dryRun?: boolean;
}

export interface ResolvedConnect {
  /** Undefined in a dry run. */
  client?: ConnectClient;
  server: string;
  fingerprint?: string;
  /** Where the fingerprint came from, safe to log. */
  fingerprintOrigin: string;
  hasToken: boolean;
}

/**
 * Token and fingerprint from flag > file > environment; a missing fingerprint is generated and
 * stored in the state folder. Errors name the flag or file, never the token.
 */
export async function resolveConnect(s: ConnectSettings): Promise<ResolvedConnect> {
  const p = s.prefix;
  const server = s.server;
  const token = await readToken({
    flag: s.token,
    flagName: `${p}token`,
    file: s.tokenFile,
    fileFlagName: `${p}token-file`,
    env: "PRUSA_CONNECT_TOKEN",
    envValue: s.envToken,
  });
  if (!token && !s.dryRun) {
    throw new Error(
      `no Prusa Connect token: give ${p}token-file FILE or set PRUSA_CONNECT_TOKEN ` +
        `(${p}token works too but shows in ps); create the token in Connect: printer, ` +
        "Camera tab, 'Add new other camera'",
    );
  }
  let fingerprint = await readFingerprint({
    flag: s.fingerprint,
    flagName: `${p}fingerprint`,
    file: s.fingerprintFile,
    fileFlagName: `${p}fingerprint-file`,
    env: "PRUSA_CONNECT_FINGERPRINT",
    envValue: s.envFingerprint,
  });
  let fingerprintOrigin = "given";
  if (!fingerprint && token) {
    const stored = await loadOrCreateFingerprint(s.stateDir, token, !s.dryRun);
    fingerprint = stored.fingerprint;
    fingerprintOrigin = stored.created || s.dryRun ? `generated, ${stored.path}` : stored.path;
  }
  if (s.dryRun) {
    new ConnectClient({ server, token: "x", fingerprint: "x", timeoutMs: s.timeoutMs });
    return { server, fingerprint, fingerprintOrigin, hasToken: token !== undefined };
  }
  const client = new ConnectClient({
    server,
    token: token!,
    fingerprint: fingerprint!,
    timeoutMs: s.timeoutMs,
  });
  log.info("Prusa Connect camera", {
    server: redactUrl(client.server),
    fingerprint,
    fingerprintFrom: fingerprintOrigin,
  });
  return { client, server: client.server, fingerprint, fingerprintOrigin, hasToken: true };
}
