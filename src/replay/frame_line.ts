/**
 * The JSON line `replay` prints per frame (its branch results also printed by `detect`), and the
 * one-line description of a planned write.
 */
import type { BranchResult, PipelineResult, PlannedWrite } from "../pipeline/mod.ts";

const r1 = (v: number) => Math.round(v * 10) / 10;
const r3 = (v: number) => Math.round(v * 1000) / 1000;

export function frameLine(
  f: { index: number; ptsMs: number; width: number; height: number },
  result: PipelineResult | null,
  writes: PlannedWrite[],
  error?: string,
): Record<string, unknown> {
  const line: Record<string, unknown> = {
    frame: f.index,
    time: r3(f.ptsMs / 1000),
    width: f.width,
    height: f.height,
  };
  if (error !== undefined) {
    line.error = error;
    return line;
  }
  if (!result) return line;
  line.detections = (result.detections ?? []).map((d) => ({
    class: d.class,
    confidence: r3(d.confidence),
    box: d.box.map(r1),
    ...(d.trackId !== undefined ? { trackId: d.trackId } : {}),
  }));
  line.branches = branchesLine(result.branchResults);
  line.sessionId = result.sessionId;
  if (result.trackId !== undefined) line.trackId = result.trackId;
  line.event = result.eventFired ?? false;
  if (result.skipped) line.skipped = result.skipped;
  if (writes.length) line.writes = writes;
  line.ms = Object.fromEntries(Object.entries(result.timings).map(([k, v]) => [k, r1(v)]));
  return line;
}

/** Branch results as `replay` and `detect` print them. */
export function branchesLine(results: Record<string, BranchResult>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(results).map(([id, b]) => [id, {
      class: b.class ?? null,
      confidence: b.confidence !== undefined ? r3(b.confidence) : null,
      fields: b.fields,
      ...(b.branchResults ? { branches: b.branchResults } : {}),
    }]),
  );
}

export function describeWrite(w: PlannedWrite): string {
  switch (w.op) {
    case "set":
      return `redis SET ${JSON.stringify(w.key)} (${w.bytes} bytes ${w.format}${
        w.ttl ? `, EX ${w.ttl}` : ""
      })`;
    case "publish":
      return `redis PUBLISH ${JSON.stringify(w.channel)} ${w.message}`;
    case "initial_session":
      return `postgres INSERT session ${w.sessionId} (display ${w.displayId}, captured ${w.capturedTimestamp}) INTO gas_station_1.car_frontal_info`;
    case "upsert":
      return `postgres UPSERT ${w.table} ${w.keyField}=${JSON.stringify(w.keyValue)} ${
        Object.entries(w.fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ")
      }`;
  }
}
