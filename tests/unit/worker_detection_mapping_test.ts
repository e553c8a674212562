import assert from "node:assert/strict";
import type { PipelineResult } from "../../src/pipeline/types.ts";
import { currentCar, detectionFields } from "../../src/worker/detection_mapping.ts";

function result(branchResults: PipelineResult["branchResults"]): PipelineResult {
  return {
    detection: { class: "Car", classId: 0, confidence: 0.9, box: [0, 0, 10, 10] },
    regions: {},
    branchResults,
    sessionId: null,
    timings: {},
  };
}

Deno.test("no result or no branches: all six keys, all null", () => {
  const empty = {
    carModel: null,
    carBrand: null,
    carYear: null,
    bodyType: null,
    licensePlateText: null,
    licensePlateConfidence: null,
  };
  assert.deepEqual(detectionFields(null), empty);
  assert.deepEqual(detectionFields(result({})), empty);
});

Deno.test("named fields fill brand, body type, model, year and plate", () => {
  const d = detectionFields(result({
    car_brand_cls_v1: {
      modelId: "car_brand_cls_v1",
      class: "Honda",
      confidence: 0.9,
      fields: { brand: "Honda" },
    },
    car_bodytype_cls_v1: {
      modelId: "car_bodytype_cls_v1",
      class: "Sedan",
      confidence: 0.8,
      fields: { body_type: "Sedan" },
    },
    m: { modelId: "m", fields: { model: "Civic", year: "2019" } },
    lp: { modelId: "lp", confidence: 0.77, fields: { license_plate: "AB1234" } },
  }));
  assert.deepEqual(d, {
    carModel: "Civic",
    carBrand: "Honda",
    carYear: 2019,
    bodyType: "Sedan",
    licensePlateText: "AB1234",
    licensePlateConfidence: 0.77,
  });
  assert.deepEqual(currentCar(d), {
    carModel: "Civic",
    carBrand: "Honda",
    carYear: 2019,
    bodyType: "Sedan",
    licensePlateText: "AB1234",
  });
});

Deno.test("classification branches without named fields map by id, nested branches too", () => {
  const d = detectionFields(result({
    frontal_det: {
      modelId: "frontal_det",
      fields: {},
      branchResults: {
        "car-brand-v2": { modelId: "car-brand-v2", class: "Toyota", confidence: 0.7, fields: {} },
        body_cls: { modelId: "body_cls", class: "SUV", confidence: 0.6, fields: {} },
      },
    },
    colour_model_v1: { modelId: "colour_model_v1", class: "red", confidence: 0.9, fields: {} },
  }));
  assert.equal(d.carBrand, "Toyota");
  assert.equal(d.bodyType, "SUV");
  assert.equal(d.carModel, null, "an id that only contains 'model' is not the car model");
});
