/**
 * The placeholder values an event's actions are rendered with (docs/mpta.md "Placeholders"): the
 * event's own (time, ids, camera), those of a detection or classification, and `{branchId.field}`.
 */
import type { Classification, Detection } from "../inference/mod.ts";
import type { TemplateValues } from "./template.ts";

/** `YYYY-MM-DDTHH-MM-SS` in local time, the original's `{timestamp}`. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}-${
    p(d.getMinutes())
  }-${p(d.getSeconds())}`;
}

/** Values of the event itself: capture time, fresh uuid and filename, camera, display, session. */
export function eventValues(
  at: number,
  ids: { cameraId: string; displayId: string; sessionId: string | null },
): TemplateValues {
  return {
    timestamp_ms: at,
    timestamp: formatTimestamp(at),
    uuid: crypto.randomUUID(),
    filename: `${crypto.randomUUID()}.jpg`,
    camera_id: ids.cameraId,
    display_id: ids.displayId,
    session_id: ids.sessionId,
    image_key: null,
  };
}

/** Placeholder values of a detection (or classification) result. */
export function detectionValues(
  d:
    | { class: string; classId: number; confidence: number; box?: number[]; trackId?: number }
    | null,
): TemplateValues {
  const box = d?.box?.map((v) => Math.round(v));
  return {
    class: d?.class ?? null,
    classId: d?.classId ?? null,
    confidence: d?.confidence ?? null,
    id: d?.trackId ?? null,
    track_id: d?.trackId ?? null,
    bbox: box ? JSON.stringify(box) : null,
    box: box ? JSON.stringify(box) : null,
    x1: box?.[0] ?? null,
    y1: box?.[1] ?? null,
    x2: box?.[2] ?? null,
    y2: box?.[3] ?? null,
  };
}

/** What a branch produced, as far as its `{branchId.field}` values go. */
export interface BranchOutcome {
  classification?: Classification;
  best: Detection | null;
  fields: Record<string, string | number | null>;
}

/** `{branchId.field}` values of a branch run. */
export function branchValues(id: string, run: BranchOutcome): TemplateValues {
  const src: Partial<Detection> = run.classification ?? run.best ?? {};
  const out: TemplateValues = {
    [`${id}.class`]: src.class ?? null,
    [`${id}.classId`]: src.classId ?? null,
    [`${id}.confidence`]: src.confidence ?? null,
  };
  for (const [k, v] of Object.entries(run.fields)) out[`${id}.${k}`] = v;
  return out;
}
