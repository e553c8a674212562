/**
 * Access control of `serve`'s routes: HTTP Basic against a users file and/or bearer tokens, with
 * `/metrics` protectable on its own (a scraper's token, or open). Wrong credentials are counted
 * per client address and an address with too many is refused for a while (429).
 */
import { PasswordCheck, type Verifier } from "../auth/mod.ts";
import { FailureLimiter } from "../auth/mod.ts";
import { oneOfSecrets } from "../auth/mod.ts";
import { logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { jsonError } from "./responses.ts";
import type { Handler, Route } from "./router.ts";
import { LogThrottle } from "../core/mod.ts";

export interface AccessSettings {
  /** Basic users (from `--auth FILE`). */
  users?: Map<string, Verifier>;
  /** Bearer tokens accepted everywhere. */
  tokens?: string[];
  /** When set, `/metrics` takes this bearer token and nothing else. */
  metricsToken?: string;
  /** `/metrics` needs no credentials even when the rest does. */
  metricsOpen?: boolean;
  /** Counts refused requests. */
  metrics: Metrics;
}

type Scope = "viewer" | "metrics";
type Refusal = "missing" | "invalid" | "rate_limited";

const REALM = "detector";
const log = logger("auth");
const decoder = new TextDecoder();

function parseBasic(value: string): { user: string; password: string } | undefined {
  try {
    const bytes = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    const text = decoder.decode(bytes);
    const colon = text.indexOf(":");
    return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
  } catch {
    return undefined;
  }
}

export class AccessGuard {
  #throttle = new LogThrottle();
  readonly #users: Map<string, Verifier>;
  readonly #passwords: PasswordCheck;
  readonly #tokens: string[];

  constructor(
    private readonly settings: AccessSettings,
    private readonly limiter = new FailureLimiter(),
  ) {
    this.#users = settings.users ?? new Map();
    this.#passwords = new PasswordCheck(this.#users);
    this.#tokens = settings.tokens ?? [];
  }

  #refused(reason: Refusal): void {
    this.settings.metrics.inc(
      "detector_http_auth_refused_total",
      "Requests refused for missing or wrong credentials, or from an address with too many failures",
      { reason },
    );
  }

  /** True when the viewer routes need credentials. */
  get protectsViewer(): boolean {
    return this.#users.size > 0 || this.#tokens.length > 0;
  }

  /** `/healthz` stays open, `/metrics` follows its own setting, every other route the viewer's. */
  route(r: Route): Route {
    if (r.path === "/healthz") return r;
    return { ...r, handler: this.protect(r.handler, r.path === "/metrics" ? "metrics" : "viewer") };
  }

  protect(handler: Handler, scope: Scope = "viewer"): Handler {
    if (scope === "metrics" && this.settings.metricsOpen) return handler;
    if (scope === "viewer" || this.settings.metricsToken === undefined) {
      if (!this.protectsViewer) return handler;
    }
    return async (req, params, info) => {
      const refusal = await this.#check(req, info, scope);
      return refusal ?? handler(req, params, info);
    };
  }

  async #check(
    req: Request,
    info: Deno.ServeHandlerInfo,
    scope: Scope,
  ): Promise<Response | undefined> {
    const address = (info.remoteAddr as Deno.NetAddr).hostname;
    const waitMs = this.limiter.blockedFor(address);
    if (waitMs > 0) {
      this.#refused("rate_limited");
      this.#throttle.warn(
        log,
        `blocked:${address}`,
        "refused a client with too many failed logins",
        { address },
      );
      return jsonError(429, "too many failed logins from this address; try again later", {}, {
        "retry-after": String(Math.ceil(waitMs / 1000)),
      });
    }
    const header = req.headers.get("authorization");
    if (!header) {
      this.#refused("missing");
      return this.#challenge("credentials required", scope);
    }
    const space = header.indexOf(" ");
    const scheme = header.slice(0, space < 0 ? header.length : space).toLowerCase();
    const value = space < 0 ? "" : header.slice(space + 1).trim();
    let ok = false;
    let user: string | undefined;
    const metricsOnly = scope === "metrics" && this.settings.metricsToken !== undefined;
    if (scheme === "bearer") {
      ok = oneOfSecrets(value, metricsOnly ? [this.settings.metricsToken!] : this.#tokens);
    } else if (scheme === "basic" && !metricsOnly) {
      const basic = parseBasic(value);
      user = basic?.user;
      ok = !!basic && await this.#passwords.verify(basic.user, basic.password);
    }
    if (ok) {
      this.limiter.succeed(address);
      return undefined;
    }
    this.limiter.fail(address);
    this.#refused("invalid");
    this.#throttle.warn(log, `invalid:${address}`, "refused wrong credentials", {
      address,
      scheme,
      user: user?.slice(0, 64),
      path: new URL(req.url).pathname.slice(0, 200),
    });
    return this.#challenge("wrong credentials", scope);
  }

  #challenge(message: string, scope: Scope): Response {
    const basic = this.#users.size > 0 &&
      !(scope === "metrics" && this.settings.metricsToken !== undefined);
    return jsonError(401, message, {}, {
      "www-authenticate": basic
        ? `Basic realm="${REALM}", charset="UTF-8"`
        : `Bearer realm="${REALM}"`,
    });
  }
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}
