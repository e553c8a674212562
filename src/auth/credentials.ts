/**
 * Viewer credentials: users with passwords (for HTTP Basic) read from a file, one `user:password`
 * a line, and bearer tokens. A password may be stored hashed:
 *   user:$sha256$HEX          HEX = sha256 of the password (`printf %s PW | sha256sum`)
 *   user:$scrypt$SALT$HEX     HEX = scrypt(password, SALT, 32 bytes, N=16384, r=8, p=1)
 */
import { createHash, scrypt } from "node:crypto";
import { secretsEqual } from "./secret_compare.ts";

export type Verifier = (password: string) => Promise<boolean>;

const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function scryptHex(password: string, salt: string): Promise<string> {
  return new Promise((resolve, reject) =>
    scrypt(
      password,
      salt,
      32,
      SCRYPT,
      (err, key) => err ? reject(err) : resolve(key.toString("hex")),
    )
  );
}

const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");

/** The verifier of one stored password; throws a message naming what is wrong. */
function verifierOf(stored: string): Verifier {
  if (stored.startsWith("$sha256$")) {
    const hex = stored.slice(8).toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error("$sha256$ must be followed by 64 hex digits");
    return (pw) => Promise.resolve(secretsEqual(sha256Hex(pw), hex));
  }
  if (stored.startsWith("$scrypt$")) {
    const m = /^\$scrypt\$([^$]{1,128})\$([0-9a-fA-F]{64})$/.exec(stored);
    if (!m) throw new Error("$scrypt$ entries look like $scrypt$SALT$HEX (64 hex digits)");
    const [, salt, hex] = m;
    return async (pw) => secretsEqual(await scryptHex(pw, salt), hex.toLowerCase());
  }
  if (/^\$2[abxy]?\$/.test(stored)) {
    throw new Error("bcrypt hashes are not supported; use $scrypt$SALT$HEX or $sha256$HEX");
  }
  return (pw) => Promise.resolve(secretsEqual(pw, stored));
}

/** Parses the text of a `user:password` file; errors name the file and line. */
export function parseCredentials(text: string, file: string): Map<string, Verifier> {
  const users = new Map<string, Verifier>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const where = `${file} line ${i + 1}`;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`${where}: expected user:password`);
    const user = line.slice(0, colon);
    const password = line.slice(colon + 1);
    if (password === "") throw new Error(`${where}: user "${user}" has an empty password`);
    if (users.has(user)) throw new Error(`${where}: user "${user}" is listed twice`);
    try {
      users.set(user, verifierOf(password));
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  });
  return users;
}

export async function readCredentialsFile(file: string): Promise<Map<string, Verifier>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw new Error(`cannot read --auth file ${file}: ${(err as Error).message}`);
  }
  const users = parseCredentials(text, file);
  if (users.size === 0) throw new Error(`--auth file ${file} lists no user:password line`);
  return users;
}

/** A password checked against a dummy entry, so an unknown user costs the same as a known one. */
const unknownUser: Verifier = verifierOf("$sha256$" + sha256Hex(crypto.randomUUID()));

/**
 * Checks a user and password; successful checks of slow (scrypt) entries are remembered by a
 * digest of both, so a browser's many requests cost one derivation.
 */
export class PasswordCheck {
  #ok = new Set<string>();
  static readonly MAX_REMEMBERED = 1024;

  constructor(private readonly users: Map<string, Verifier>) {}

  async verify(user: string, password: string): Promise<boolean> {
    const key = sha256Hex(`${user}\0${password}`);
    if (this.#ok.has(key)) return true;
    const ok = await (this.users.get(user) ?? unknownUser)(password) && this.users.has(user);
    if (ok) {
      if (this.#ok.size >= PasswordCheck.MAX_REMEMBERED) this.#ok.clear();
      this.#ok.add(key);
    }
    return ok;
  }
}
