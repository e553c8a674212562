import { cameraNameProblem } from "../core/mod.ts";

/**
 * File names of the history folder: `{camera}.jpg` is the latest frame, `{camera}_{ms}.jpg` one
 * timestamped frame (ms since the epoch, 13 digits), temp files start with a dot.
 */
const STAMPED = /^(.+)_(\d{13})\.jpg$/;
const LATEST = /^(.+)\.jpg$/;

export function latestFile(camera: string): string {
  return `${camera}.jpg`;
}

export function stampedFile(camera: string, ts: number): string {
  return `${camera}_${ts}.jpg`;
}

/** Why a camera cannot have history files, or undefined when it can. */
export function historyNameProblem(camera: string): string | undefined {
  const problem = cameraNameProblem(camera);
  if (problem) return problem;
  if (/_\d{13}$/.test(camera)) {
    return `camera name "${camera}" ends like a history timestamp (_ and 13 digits)`;
  }
  return undefined;
}

export type ParsedName =
  | { kind: "stamped"; camera: string; ts: number }
  | { kind: "latest"; camera: string }
  | undefined;

export function parseHistoryFile(name: string): ParsedName {
  if (name.startsWith(".")) return undefined;
  const s = STAMPED.exec(name);
  if (s && !historyNameProblem(s[1])) return { kind: "stamped", camera: s[1], ts: Number(s[2]) };
  const l = LATEST.exec(name);
  if (l && !historyNameProblem(l[1])) return { kind: "latest", camera: l[1] };
  return undefined;
}

/** A `{timestamp}` route parameter: exactly 13 digits, nothing else. */
export function parseTimestamp(text: string): number | undefined {
  return /^\d{13}$/.test(text) ? Number(text) : undefined;
}
