import { errorMessage, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { jsonError } from "./responses.ts";

export type Params = Record<string, string>;
export type Handler = (
  req: Request,
  params: Params,
  info: Deno.ServeHandlerInfo,
) => Response | Promise<Response>;

export interface Route {
  method: string;
  /** URLPattern pathname syntax: `/cameras/:name/snapshot.jpg`. */
  path: string;
  handler: Handler;
  /**
   * A GET route whose answer is bytes or a frame stream: the front door may answer it on the client
   * connection itself instead of relaying it to the HTTP server.
   */
  direct?: boolean;
}

const log = logger("http");

/** Exact paths are looked up in a map; only paths with parameters go through URLPattern. */
export class Router {
  #exact = new Map<string, Map<string, Handler>>();
  #patterns: {
    method: string;
    pattern: URLPattern;
    path: string;
    handler: Handler;
    direct?: boolean;
  }[] = [];
  #direct = new Set<string>();

  /** `metrics` counts the requests whose handler failed; the server in front counts into it too. */
  constructor(readonly metrics: Metrics) {}

  add(...routes: Route[]): this {
    for (const r of routes) {
      if (r.path.includes(":") || r.path.includes("*")) {
        this.#patterns.push({ ...r, pattern: new URLPattern({ pathname: r.path }) });
      } else {
        if (r.direct && r.method === "GET") this.#direct.add(r.path);
        let byMethod = this.#exact.get(r.path);
        if (!byMethod) this.#exact.set(r.path, byMethod = new Map());
        byMethod.set(r.method, r.handler);
      }
    }
    return this;
  }

  /** True when a GET or HEAD of `path` goes to a route marked `direct`. */
  isDirect(path: string): boolean {
    if (this.#exact.has(path)) return this.#direct.has(path);
    for (const p of this.#patterns) {
      if (p.method !== "GET" || !p.pattern.exec({ pathname: path })) continue;
      return p.direct === true;
    }
    return false;
  }

  handle = (req: Request, info: Deno.ServeHandlerInfo): Response | Promise<Response> => {
    const path = pathnameOf(req.url);
    const method = req.method === "HEAD" ? "GET" : req.method;
    let handler: Handler | undefined;
    let params: Params = {};
    let allowed: string[] = [];
    const exact = this.#exact.get(path);
    if (exact) {
      handler = exact.get(method);
      if (!handler) allowed = [...exact.keys()];
    } else {
      for (const p of this.#patterns) {
        const m = p.pattern.exec({ pathname: path });
        if (!m) continue;
        if (p.method !== method) {
          allowed.push(p.method);
          continue;
        }
        handler = p.handler;
        params = decodeParams(m.pathname.groups);
        break;
      }
    }
    if (!handler) {
      if (allowed.length) {
        return jsonError(405, `method ${req.method} not allowed on ${path}`, {
          allowed,
        }, { Allow: allowed.join(", ") });
      }
      return jsonError(404, `no route for ${path}`);
    }
    try {
      const res = handler(req, params, info);
      return res instanceof Promise ? res.catch((err) => this.#failed(path, err)) : res;
    } catch (err) {
      return this.#failed(path, err);
    }
  };

  #failed(path: string, err: unknown): Response {
    this.metrics.inc("detector_http_errors_total", "Requests that failed with an internal error");
    log.error("handler failed", { path, error: errorMessage(err) });
    return jsonError(500, "internal error");
  }
}

/**
 * The path of an absolute request URL without building a URL object (the hot path of snapshot
 * requests). Paths with dot segments or escapes go through URL so that they are normalised.
 */
export function pathnameOf(url: string): string {
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  if (start < 0) return "/";
  const q = url.indexOf("?", start);
  const h = url.indexOf("#", start);
  const end = q < 0 ? h : h < 0 ? q : Math.min(q, h);
  const path = end < 0 ? url.slice(start) : url.slice(start, end);
  if (path.includes("/.") || path.includes("%") || path.includes("\\")) {
    return new URL(url).pathname;
  }
  return path;
}

function decodeParams(groups: Record<string, string | undefined>): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(groups)) {
    if (v === undefined) continue;
    try {
      out[k] = decodeURIComponent(v);
    } catch {
      out[k] = v;
    }
  }
  return out;
}
