/**
 * HTTP Digest access authentication, client side (RFC 7616; RFC 2617 servers without qop too):
 * MD5 and SHA-256 (and their -sess forms), qop=auth, nonce counts and client nonces.
 */
import { createHash } from "node:crypto";

export interface Challenge {
  /** Lower-case scheme name: "digest", "basic", … */
  scheme: string;
  /** Parameter names in lower case. */
  params: Record<string, string>;
}

const tokenChar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses a WWW-Authenticate value, which may hold several challenges (and several header lines
 * joined by ", "): `Digest realm="a", nonce="b", Basic realm="c"`.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i])) i++;
  };
  const token = () => {
    const start = i;
    while (i < header.length && tokenChar.test(header[i])) i++;
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const name = token();
    if (!name) {
      i++;
      continue;
    }
    skip(/\s/);
    if (header[i] === "=" && out.length > 0) {
      i++;
      skip(/\s/);
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < header.length) i++;
          value += header[i++];
        }
        i++;
      } else {
        const start = i;
        while (i < header.length && header[i] !== "," && !/\s/.test(header[i])) i++;
        value = header.slice(start, i);
      }
      out[out.length - 1].params[name.toLowerCase()] = value;
    } else if (header[i] === "=") {
      // a token68 or parameter before any scheme: not a challenge we can use
      skip(/[^,]/);
    } else {
      out.push({ scheme: name.toLowerCase(), params: {} });
    }
  }
  return out;
}

export type DigestAlgorithm = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess";
const algorithms: DigestAlgorithm[] = ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"];

/** The Digest challenge to answer (SHA-256 preferred over MD5), or undefined when none is usable. */
export function pickDigestChallenge(challenges: Challenge[]): Challenge | undefined {
  const usable = challenges.filter((c) =>
    c.scheme === "digest" && c.params.nonce !== undefined && algorithmOf(c) !== undefined &&
    (c.params.qop === undefined || qopList(c).includes("auth"))
  );
  return usable.find((c) => algorithmOf(c)!.startsWith("SHA-256")) ?? usable[0];
}

function algorithmOf(c: Challenge): DigestAlgorithm | undefined {
  const name = (c.params.algorithm ?? "MD5").toUpperCase();
  return algorithms.find((a) => a.toUpperCase() === name);
}

function qopList(c: Challenge): string[] {
  return (c.params.qop ?? "").split(",").map((q) => q.trim().toLowerCase()).filter(Boolean);
}

function hash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm.startsWith("SHA-256") ? "sha256" : "md5").update(text, "utf8")
    .digest("hex");
}

export interface DigestInput {
  algorithm: DigestAlgorithm;
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  /** "auth", or undefined for an RFC 2069 server that offered no qop. */
  qop?: "auth";
  nc: string;
  cnonce: string;
}

/** The `response` value of a Digest Authorization header. */
export function digestResponse(d: DigestInput): string {
  let ha1 = hash(d.algorithm, `${d.username}:${d.realm}:${d.password}`);
  if (d.algorithm.endsWith("-sess")) ha1 = hash(d.algorithm, `${ha1}:${d.nonce}:${d.cnonce}`);
  const ha2 = hash(d.algorithm, `${d.method}:${d.uri}`);
  return d.qop
    ? hash(d.algorithm, `${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`)
    : hash(d.algorithm, `${ha1}:${d.nonce}:${ha2}`);
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, "\\$&")}"`;
}

function newCnonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Answers one server challenge; later requests reuse its nonce with a growing nonce count, so a
 * poller needs one round trip per request instead of two.
 */
export class DigestSession {
  readonly algorithm: DigestAlgorithm;
  #nc = 0;

  constructor(
    readonly challenge: Challenge,
    readonly username: string,
    readonly password: string,
  ) {
    const algorithm = algorithmOf(challenge);
    if (!algorithm || challenge.scheme !== "digest") {
      throw new Error(`unsupported Digest algorithm "${challenge.params.algorithm}"`);
    }
    this.algorithm = algorithm;
  }

  /** The Authorization header value for one request; `uri` is the request target (path?query). */
  authorization(method: string, uri: string, cnonce = newCnonce()): string {
    const p = this.challenge.params;
    const qop = p.qop === undefined ? undefined : "auth" as const;
    const nc = (++this.#nc).toString(16).padStart(8, "0");
    const userhash = p.userhash?.toLowerCase() === "true";
    const realm = p.realm ?? "";
    const username = userhash ? hash(this.algorithm, `${this.username}:${realm}`) : this.username;
    const response = digestResponse({
      algorithm: this.algorithm,
      username: this.username,
      password: this.password,
      realm,
      nonce: p.nonce,
      method,
      uri,
      qop,
      nc,
      cnonce,
    });
    const parts = [
      `username=${quote(username)}`,
      `realm=${quote(realm)}`,
      `nonce=${quote(p.nonce)}`,
      `uri=${quote(uri)}`,
      `algorithm=${this.algorithm}`,
      `response=${quote(response)}`,
    ];
    if (p.opaque !== undefined) parts.push(`opaque=${quote(p.opaque)}`);
    if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(cnonce)}`);
    if (userhash) parts.push("userhash=true");
    return `Digest ${parts.join(", ")}`;
  }
}

export function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}
