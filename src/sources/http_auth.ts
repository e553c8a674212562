import { VERSION } from "../version.ts";
import {
  basicAuthorization,
  DigestSession,
  parseChallenges,
  pickDigestChallenge,
} from "./digest_auth.ts";

export interface Credentials {
  username: string;
  password: string;
}

/** Splits `http://user:pass@host/…` into the URL without credentials and the credentials. */
export function splitCredentials(url: URL): { url: URL; credentials?: Credentials } {
  const clean = new URL(url.href);
  clean.username = "";
  clean.password = "";
  if (!url.username && !url.password) return { url: clean };
  return {
    url: clean,
    credentials: {
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    },
  };
}

const reasons: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** `HTTP 401 Unauthorized` with the server's reason phrase or the standard one. */
export function statusLine(res: Response): string {
  const text = res.statusText || reasons[res.status] || "";
  return `HTTP ${res.status}${text ? ` ${text}` : ""}`;
}

export interface AuthFetchOptions {
  userAgent?: string;
  accept?: string;
}

/**
 * GETs one URL again and again with the credentials its spec carried: they are sent only in the
 * Authorization header, as Digest when the server challenges with Digest, else as Basic when it
 * offers Basic (the original worker's `fetch_snapshot`: HTTPDigestAuth, then HTTPBasicAuth).
 * The scheme that worked is used up front on later requests (Digest with a growing nonce count).
 */
export class AuthFetcher {
  readonly url: URL;
  /** The URL as it may be shown: no credentials. */
  readonly safeUrl: string;
  readonly #credentials?: Credentials;
  #auth: { kind: "none" } | { kind: "basic" } | { kind: "digest"; session: DigestSession } = {
    kind: "none",
  };
  /** Why the last answer was 401, for error messages. */
  authNote = "";

  constructor(url: URL, readonly opts: AuthFetchOptions = {}) {
    const split = splitCredentials(url);
    this.url = split.url;
    this.safeUrl = split.url.href;
    this.#credentials = split.credentials;
  }

  get hasCredentials(): boolean {
    return this.#credentials !== undefined;
  }

  get scheme(): string {
    return this.#auth.kind;
  }

  async fetch(signal: AbortSignal): Promise<Response> {
    let digestTried = false;
    let basicTried = false;
    while (true) {
      const res = await this.#send(signal);
      if (res.status !== 401) return res;
      if (!this.#credentials) {
        this.authNote = "no credentials in the URL";
        return res;
      }
      const challenges = parseChallenges(res.headers.get("www-authenticate") ?? "");
      const digest = pickDigestChallenge(challenges);
      const basicOffered = challenges.some((c) => c.scheme === "basic") ||
        (challenges.length === 0 && !digestTried);
      if (digest && !digestTried) {
        digestTried = true;
        await res.body?.cancel();
        const { username, password } = this.#credentials;
        this.#auth = { kind: "digest", session: new DigestSession(digest, username, password) };
        continue;
      }
      if (basicOffered && !basicTried) {
        basicTried = true;
        await res.body?.cancel();
        this.#auth = { kind: "basic" };
        continue;
      }
      this.#auth = { kind: "none" };
      this.authNote = digestTried || basicTried
        ? "credentials rejected"
        : `server asks for ${
          challenges.map((c) => c.scheme).join(", ") || "an unknown scheme"
        } authentication, which is not supported`;
      return res;
    }
  }

  #send(signal: AbortSignal): Promise<Response> {
    const headers = new Headers({
      "user-agent": this.opts.userAgent ?? `detector/${VERSION}`,
      accept: this.opts.accept ?? "*/*",
    });
    const auth = this.#auth;
    if (auth.kind === "basic" && this.#credentials) {
      headers.set(
        "authorization",
        basicAuthorization(this.#credentials.username, this.#credentials.password),
      );
    } else if (auth.kind === "digest") {
      headers.set(
        "authorization",
        auth.session.authorization("GET", this.url.pathname + this.url.search),
      );
    }
    return fetch(this.url, { headers, signal });
  }
}
