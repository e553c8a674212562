/**
 * `${NAME}` references in source specs and MQTT URLs, so no password has to be on a command line
 * (where `ps` shows it). Values come from `--secrets-file` (KEY=VALUE lines) or the environment.
 * Inside a URL's userinfo the value is percent-encoded, so any character may be in a password.
 */

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Reads KEY=VALUE lines (blank lines and `#` comments skipped); errors name the file and line. */
export function parseSecretsFile(text: string, path: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const key = eq > 0 ? line.slice(0, eq).trim() : "";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new Error(`${path}:${i + 1}: expected KEY=VALUE`);
    }
    let value = line.slice(eq + 1).trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out.set(key, value);
  });
  return out;
}

export async function readSecretsFile(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`--secrets-file ${path}: ${err instanceof Error ? err.message : err}`);
  }
  return parseSecretsFile(text, path);
}

/** True when `index` falls in the userinfo of the URL that starts before it. */
function inUserinfo(spec: string, index: number): boolean {
  const before = spec.slice(0, index);
  const scheme = before.lastIndexOf("://");
  if (scheme < 0) return false;
  const afterScheme = spec.slice(scheme + 3);
  const authorityEnd = afterScheme.search(/[/?#\s]/);
  const authority = authorityEnd < 0 ? afterScheme : afterScheme.slice(0, authorityEnd);
  const at = authority.lastIndexOf("@");
  return at >= 0 && index < scheme + 3 + at;
}

/**
 * Replaces `${NAME}` from `secrets` first, then the environment. An unknown name is an error
 * naming it and `what` (the flag), never the value.
 */
export function expandSecretRefs(
  spec: string,
  what: string,
  secrets: Map<string, string> | undefined,
  env: (name: string) => string | undefined,
): string {
  return spec.replace(REF, (_m, name: string, offset: number) => {
    const value = secrets?.get(name) ?? env(name);
    if (value === undefined) {
      throw new Error(`${what} refers to \${${name}}, which is neither in --secrets-file nor set`);
    }
    return inUserinfo(spec, offset) ? encodeURIComponent(value) : value;
  });
}
