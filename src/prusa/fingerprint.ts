import { logger } from "../core/mod.ts";

const log = logger("prusa");

/** Length 16–64, and only characters that are safe in an HTTP header and a file name. */
const FINGERPRINT = /^[A-Za-z0-9._:-]{16,64}$/;

/** Checks a fingerprint before it is sent; the error names where it came from. */
export function validateFingerprint(value: string, origin: string): string {
  const fp = value.trim();
  if (fp.length < 16 || fp.length > 64) {
    throw new Error(`fingerprint from ${origin} must be 16-64 characters long, got ${fp.length}`);
  }
  if (!FINGERPRINT.test(fp)) {
    throw new Error(
      `fingerprint from ${origin} may only hold letters, digits, ".", "_", ":" and "-"`,
    );
  }
  return fp;
}

/** `$STATE_DIRECTORY` (systemd StateDirectory=), else `$XDG_STATE_HOME/detector`, else ~/.local/state/detector. */
export function defaultStateDir(env: (name: string) => string | undefined): string {
  const systemd = env("STATE_DIRECTORY");
  if (systemd) return systemd.split(":")[0];
  const xdg = env("XDG_STATE_HOME");
  if (xdg) return `${xdg}/detector`;
  const home = env("HOME");
  return home ? `${home}/.local/state/detector` : ".detector-state";
}

/**
 * One stored fingerprint per token (Connect binds a token to the first fingerprint it sees), named
 * by a short hash of the token so the file name reveals nothing usable.
 */
export async function fingerprintPath(stateDir: string, token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  const hex = [...new Uint8Array(digest)].slice(0, 6).map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return `${stateDir.replace(/\/+$/, "")}/prusa-fingerprint-${hex}`;
}

export interface StoredFingerprint {
  fingerprint: string;
  path: string;
  created: boolean;
}

/**
 * Reads the stored fingerprint for this token, or generates one and stores it (mode 0600, written
 * to a temporary file and renamed so a crash never leaves half a fingerprint). With `create`
 * false (dry run) a missing one is generated but not stored.
 */
export async function loadOrCreateFingerprint(
  stateDir: string,
  token: string,
  create = true,
): Promise<StoredFingerprint> {
  const path = await fingerprintPath(stateDir, token);
  try {
    const text = await Deno.readTextFile(path);
    return { fingerprint: validateFingerprint(text, `file ${path}`), path, created: false };
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      if (err instanceof Deno.errors.PermissionDenied) {
        throw new Error(`cannot read fingerprint file ${path}: permission denied`);
      }
      throw err;
    }
  }
  const fingerprint = crypto.randomUUID();
  if (!create) return { fingerprint, path, created: false };
  try {
    await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${Deno.pid}.tmp`;
    await Deno.writeTextFile(tmp, fingerprint + "\n", { mode: 0o600 });
    await Deno.rename(tmp, path);
  } catch (err) {
    throw new Error(
      `cannot store the generated fingerprint in --state-dir ${stateDir}: ${
        err instanceof Error ? err.message : err
      } (give --state-dir a writable folder, or pass --fingerprint-file)`,
    );
  }
  log.info("generated a new camera fingerprint", { path });
  return { fingerprint, path, created: true };
}
