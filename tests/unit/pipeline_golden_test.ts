/**
 * Results unchanged: the same frames (colour scenes as JPEG and as raw RGB, with and without a
 * subscription crop, a moving car under ByteTrack) through the full example archive give the
 * boxes, branch results, events and writes recorded in tests/fixtures/pipeline_golden.json.
 * Record the fixture again (only when a change of results is intended) with
 * `DETECTOR_UPDATE_GOLDEN=1 deno test -A tests/unit/pipeline_golden_test.ts`.
 */
import assert from "node:assert/strict";
import { Metrics } from "../../src/core/metrics.ts";
import { openArchive } from "../../src/mpta/archive.ts";
import { FrameRunner } from "../../src/pipeline/frame_runner.ts";
import type { FrameInput, PipelineResult, PlannedWrite } from "../../src/pipeline/types.ts";
import { buildExampleArchive } from "../../src/testmodels/example_archives.ts";
import { colourFrameJpeg, colourFrameRgb, type FrameSpec } from "../../src/testmodels/frames.ts";
import { pipelineInput } from "../../src/worker/subscription_runner.ts";
import type { SubscriptionSpec } from "../../src/worker/subscription_spec.ts";

const FIXTURE = new URL("../fixtures/pipeline_golden.json", import.meta.url);
const ctx = { cameraId: "display-001;cam-001", displayId: "display-001" };

const car = (
  box: [number, number, number, number],
  body: [number, number, number],
  front?: { box: [number, number, number, number]; rgb: [number, number, number] },
): FrameSpec["rects"] => [{ box, rgb: body }, ...(front ? [front] : [])];

const SCENES: Record<string, FrameSpec> = {
  "1280x720 red sedan, green frontal": {
    width: 1280,
    height: 720,
    rects: car([200, 160, 840, 560], [255, 0, 0], { box: [360, 400, 680, 540], rgb: [0, 255, 0] }),
  },
  "1920x1080 orange SUV, lime frontal": {
    width: 1920,
    height: 1080,
    background: [40, 40, 40],
    rects: car([700, 300, 1500, 900], [240, 95, 10], {
      box: [900, 650, 1300, 860],
      rgb: [100, 250, 10],
    }),
  },
  "720x1280 portrait pink hatchback, teal frontal": {
    width: 720,
    height: 1280,
    rects: car([100, 500, 620, 900], [250, 10, 100], {
      box: [200, 750, 520, 880],
      rgb: [10, 240, 110],
    }),
  },
  "640x480 van cut by the border": {
    width: 640,
    height: 480,
    rects: car([0, 100, 300, 400], [215, 5, 5], { box: [60, 300, 240, 390], rgb: [5, 215, 5] }),
  },
  "1280x720 car without frontal": {
    width: 1280,
    height: 720,
    rects: car([300, 200, 900, 600], [255, 0, 0]),
  },
  "1280x720 empty": { width: 1280, height: 720, background: [114, 114, 114], rects: [] },
};

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** What must not change: rounded boxes and scores, branch results, event and write kinds. */
function summarise(r: PipelineResult, writes: PlannedWrite[]) {
  return {
    detections: (r.detections ?? []).map((d) => ({
      class: d.class,
      confidence: round(d.confidence),
      box: d.box.map(round),
      trackId: d.trackId,
    })),
    branches: Object.fromEntries(
      Object.entries(r.branchResults).map((
        [id, b],
      ) => [id, { class: b.class, confidence: round(b.confidence ?? NaN), fields: b.fields }]),
    ),
    event: r.eventFired ?? false,
    skipped: r.skipped ?? null,
    writes: writes.map((w) =>
      w.op === "set"
        ? `${w.sink}/${w.op}/${w.format}`
        : w.op === "upsert"
        ? `${w.sink}/${w.op}/${JSON.stringify(w.fields)}`
        : `${w.sink}/${w.op}`
    ),
  };
}

async function outputs(): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir({ prefix: "golden_" });
  const path = `${dir}/full.mpta`;
  await Deno.writeFile(path, buildExampleArchive("car_frontal_full.mpta"));
  const archive = await openArchive(path);
  const out: Record<string, unknown> = {};
  const make = async (tracking: "per-frame" | "bytetrack") => {
    const writes: PlannedWrite[] = [];
    const runner = await FrameRunner.create(archive, {
      backend: "native",
      threads: 1,
      // two instances of the detector: frames prepared ahead are also detected ahead
      instances: 2,
      spoolDir: `${dir}/spool`,
      tracking,
      sessionCooldownMs: 0,
      dryRun: true,
      postgresUrl: "postgres://detector@127.0.0.1:1/none",
      onPlannedWrite: (w) => writes.push(w),
      metrics: new Metrics(),
    });
    return {
      runner,
      async run(frame: FrameInput) {
        writes.length = 0;
        return summarise(await runner.run(frame, ctx), writes);
      },
    };
  };
  const perFrame = await make("per-frame");
  const tracked = await make("bytetrack");
  try {
    let at = 1_700_000_000_000;
    for (const [name, spec] of Object.entries(SCENES)) {
      const { rgb, width, height } = colourFrameRgb(spec);
      const jpeg = await colourFrameJpeg(spec);
      out[`rgb: ${name}`] = await perFrame.run({ rgb, width, height, at: at += 1000 });
      out[`jpeg: ${name}`] = await perFrame.run({ jpeg, width, height, at: at += 1000 });
      // pre-processed ahead (replay's read-ahead): the same results
      const early = [
        perFrame.runner.prepare({ rgb, width, height, at: at += 1000 }),
        perFrame.runner.prepare({ jpeg, width, height, at: at += 1000 }),
      ];
      assert.ok(early.every((f) => f.prepared), "the colour detector prepares ahead");
      assert.ok(early.every((f) => f.detected), "two instances: both frames are detected ahead");
      assert.deepEqual(await perFrame.run(early[0]), out[`rgb: ${name}`]);
      assert.deepEqual(await perFrame.run(early[1]), out[`jpeg: ${name}`]);
      const crop = { x1: width * 0.05, y1: height * 0.1, x2: width * 0.95, y2: height };
      const sub = { crop } as unknown as SubscriptionSpec;
      const cropped = await pipelineInput(
        { camera: "c", seq: 1, jpeg, width, height, at: at += 1000 },
        sub,
      );
      out[`jpeg + crop: ${name}`] = await perFrame.run(cropped);
    }
    const moving: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      const dx = i * 90;
      const spec: FrameSpec = {
        width: 1920,
        height: 1080,
        rects: car([300 + dx, 300, 1000 + dx, 800], [250, 20, 20], {
          box: [450 + dx, 600, 850 + dx, 780],
          rgb: [20, 250, 20],
        }),
      };
      // every other frame pre-processed ahead, as replay does
      const frame = { jpeg: await colourFrameJpeg(spec), ...spec, at: at += 200 };
      moving.push(await tracked.run(i % 2 ? tracked.runner.prepare(frame) : frame));
    }
    out["bytetrack: car moving right, 1080p JPEG"] = moving;
  } finally {
    await perFrame.runner.close();
    await tracked.runner.close();
    await Deno.remove(dir, { recursive: true });
  }
  return JSON.parse(JSON.stringify(out));
}

Deno.test("the same frames give the same boxes, branch results and writes", async () => {
  const got = await outputs();
  if (Deno.env.get("DETECTOR_UPDATE_GOLDEN") === "1") {
    await Deno.writeTextFile(FIXTURE, JSON.stringify(got, null, 2) + "\n");
  }
  const want = JSON.parse(await Deno.readTextFile(FIXTURE));
  assert.deepEqual(got, want);
});
