/**
 * Maps pipeline branch results to the six `detection` fields of `imageDetection` and to
 * `currentCar` of `patchSession` (docs/protocol.md).
 */
import type { BranchResult, PipelineResult } from "../pipeline/mod.ts";

export interface DetectionFields {
  carModel: string | null;
  carBrand: string | null;
  carYear: number | null;
  bodyType: string | null;
  licensePlateText: string | null;
  licensePlateConfidence: number | null;
}

export type CurrentCar = Partial<{
  carModel: string;
  carBrand: string;
  carYear: number;
  bodyType: string;
  licensePlateText: string;
  licensePlateType: string;
}>;

export function emptyDetection(): DetectionFields {
  return {
    carModel: null,
    carBrand: null,
    carYear: null,
    bodyType: null,
    licensePlateText: null,
    licensePlateConfidence: null,
  };
}

type Target = "carBrand" | "bodyType" | "carModel" | "carYear" | "licensePlateText";

/** Named result fields → target, in the order the original checked them. */
const fieldTargets: [string, Target][] = [
  ["brand", "carBrand"],
  ["body_type", "bodyType"],
  ["model", "carModel"],
  ["year", "carYear"],
  ["license_plate", "licensePlateText"],
];

/** Branch id fragments (lower case, `_`/`-` removed) → target, for classification branches. */
const idTargets: [RegExp, Target][] = [
  [/brand/, "carBrand"],
  [/bodytype|body/, "bodyType"],
  [/licenseplate|plate/, "licensePlateText"],
  [/year/, "carYear"],
  [/model/, "carModel"],
];

function asText(v: unknown): string | null {
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return null;
}

function asYear(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
  return Number.isInteger(n) ? n : null;
}

function assign(out: DetectionFields, target: Target, value: unknown, confidence?: number): void {
  if (target === "carYear") {
    const y = asYear(value);
    if (y !== null) out.carYear = y;
    return;
  }
  const text = asText(value);
  if (text === null) return;
  out[target] = text;
  if (target === "licensePlateText" && typeof confidence === "number") {
    out.licensePlateConfidence = confidence;
  }
}

function visit(out: DetectionFields, results: Record<string, BranchResult>): void {
  for (const [branchId, br] of Object.entries(results)) {
    const fields = br.fields ?? {};
    let matched = false;
    for (const [name, target] of fieldTargets) {
      if (fields[name] !== undefined && fields[name] !== null) {
        assign(out, target, fields[name], br.confidence);
        matched = true;
      }
    }
    if (!matched && br.class !== undefined) {
      const id = branchId.toLowerCase().replace(/[_-]/g, "");
      const hit = idTargets.find(([re]) => re.test(id));
      // A branch whose id merely contains "model" (every branch is a model) only counts as the
      // car model when nothing more specific matched.
      if (hit && !(hit[1] === "carModel" && !/carmodel|vehiclemodel/.test(id))) {
        assign(out, hit[1], br.class, br.confidence);
      }
    }
    if (br.branchResults) visit(out, br.branchResults);
  }
}

export function detectionFields(result: PipelineResult | null): DetectionFields {
  const out = emptyDetection();
  if (result) visit(out, result.branchResults ?? {});
  return out;
}

/** The non-null fields as `DisplayPersistentData.currentCar`. */
export function currentCar(d: DetectionFields): CurrentCar {
  const car: CurrentCar = {};
  if (d.carModel !== null) car.carModel = d.carModel;
  if (d.carBrand !== null) car.carBrand = d.carBrand;
  if (d.carYear !== null) car.carYear = d.carYear;
  if (d.bodyType !== null) car.bodyType = d.bodyType;
  if (d.licensePlateText !== null) car.licensePlateText = d.licensePlateText;
  return car;
}
