import { logger } from "../core/mod.ts";
import { validateFingerprint } from "./fingerprint.ts";

const log = logger("prusa");

/** Where a secret may come from, in order of precedence. */
export interface SecretSources {
  flag?: string;
  flagName: string;
  file?: string;
  fileFlagName: string;
  /** The environment variable's name (for the origin) and its value, read by the caller. */
  env: string;
  envValue?: string;
}

export interface Secret {
  value: string;
  /** Where it came from, safe to log ("--token-file /etc/…", "environment PRUSA_CONNECT_TOKEN"). */
  origin: string;
}

/** flag > file > environment. Undefined when none is given. */
export async function readSecret(src: SecretSources): Promise<Secret | undefined> {
  if (src.flag !== undefined) return { value: src.flag, origin: src.flagName };
  if (src.file !== undefined) {
    let text: string;
    let mode: number | null = null;
    try {
      text = await Deno.readTextFile(src.file);
      mode = (await Deno.stat(src.file)).mode;
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound
        ? "no such file"
        : err instanceof Deno.errors.PermissionDenied
        ? "permission denied"
        : "unreadable";
      throw new Error(`${src.fileFlagName} ${src.file}: ${why}`);
    }
    if (mode !== null && (mode & 0o077) !== 0) {
      log.warn("secret file is readable by other users; chmod 600 it", { file: src.file });
    }
    return { value: text, origin: `${src.fileFlagName} ${src.file}` };
  }
  const env = src.envValue;
  if (env !== undefined && env !== "") return { value: env, origin: `environment ${src.env}` };
  return undefined;
}

/** Checks a token without ever putting it in the error. */
export function validateToken(secret: Secret): string {
  const token = secret.value.trim();
  if (token === "") throw new Error(`the token from ${secret.origin} is empty`);
  if (token.length > 512) throw new Error(`the token from ${secret.origin} is too long`);
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new Error(
      `the token from ${secret.origin} holds spaces, line breaks or non-ASCII characters`,
    );
  }
  return token;
}

export async function readToken(src: SecretSources): Promise<string | undefined> {
  const secret = await readSecret(src);
  return secret && validateToken(secret);
}

export async function readFingerprint(src: SecretSources): Promise<string | undefined> {
  const secret = await readSecret(src);
  return secret && validateFingerprint(secret.value, secret.origin);
}
