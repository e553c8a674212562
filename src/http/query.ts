/**
 * Query-string parameters: a value that is present but malformed is a 400 JSON error naming the
 * parameter, never silently replaced by a default.
 */
import { logger } from "../core/mod.ts";
import { LogThrottle } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { jsonError } from "./responses.ts";

const log = logger("http");
const badQueries = new LogThrottle();

export function badQuery(metrics: Metrics, name: string, raw: string, expected: string): Response {
  const value = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw;
  metrics.inc("detector_http_bad_query_total", "Requests refused for a bad query parameter", {
    parameter: name,
  });
  badQueries.warn(log, `query:${name}`, "bad query parameter", { parameter: name, value });
  return jsonError(400, `query parameter ${name}=${value}: expected ${expected}`, {
    parameter: name,
    value,
  });
}

/** A number in `min…max` (exclusive of `min` when `aboveMin`), undefined when absent. */
export function queryNumber(
  url: URL,
  name: string,
  opts: { min: number; max?: number; aboveMin?: boolean },
  metrics: Metrics,
): number | undefined | Response {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  const n = Number(raw);
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const low = opts.aboveMin ? n <= opts.min : n < opts.min;
  if (raw.trim() === "" || !Number.isFinite(n) || low || n > max) {
    const range = opts.max === undefined
      ? `a number ${opts.aboveMin ? ">" : "≥"} ${opts.min}`
      : `a number ${opts.min}…${opts.max}`;
    return badQuery(metrics, name, raw, range);
  }
  return n;
}

/** `1`/`true` or `0`/`false`, undefined when absent. */
export function queryFlag(
  url: URL,
  name: string,
  metrics: Metrics,
): boolean | undefined | Response {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  const v = raw.toLowerCase();
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  return badQuery(metrics, name, raw, "1 or 0");
}
