/**
 * One frame through `detect --mpta`, `replay` and `run` (a real backend WebSocket client, the
 * frame streamed by a real RTSP server) gives the same branch results: all three run one pipeline
 * engine. The archive exercises what a second engine got wrong: a branch cropping a class other
 * than the one that triggers it (`cropClass`), parallel branches, a detection branch with a nested
 * classification branch, and pre-validation (`waitForBranches`).
 */
import assert from "node:assert/strict";
import { zipDeterministic } from "../../src/mpta/pack.ts";
import type { BranchResult } from "../../src/pipeline/types.ts";
import {
  BODY_TYPE_CLASSES,
  BRAND_CLASSES,
  buildColourClassifier,
} from "../../src/testmodels/colour_classifier.ts";
import { buildColourDetector } from "../../src/testmodels/colour_detector.ts";
import { colourFrameJpeg, type FrameSpec } from "../../src/testmodels/frames.ts";
import { detectionFields } from "../../src/worker/detection_mapping.ts";
import { connectBackend, type Message } from "../harness/backend_client.ts";
import { runDetector, startDetector } from "../harness/detector.ts";
import { serveFiles } from "../harness/http_files.ts";
import { readLines } from "../harness/replay_fixtures.ts";
import { startRtspServer } from "../harness/rtsp_server.ts";

/**
 * A car body whose tint reads "SUV", a frontal region whose tint reads "Ford" (with a weaker green,
 * so the Car is the best detection of any crop holding both).
 */
const SCENE: FrameSpec = {
  width: 640,
  height: 360,
  rects: [
    { box: [100, 60, 420, 300], rgb: [255, 100, 0] },
    { box: [180, 200, 340, 280], rgb: [0, 200, 100] },
  ],
};

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2));

function archive(): Uint8Array {
  const pipeline = {
    pipeline: {
      modelId: "car_frontal_detection",
      modelFile: "detector.onnx",
      triggerClasses: ["Car", "Frontal"],
      minConfidence: 0.5,
      multiClass: true,
      expectedClasses: ["Car", "Frontal"],
      actions: [],
      parallelActions: [{
        type: "postgresql_update_combined",
        table: "car_info",
        key_field: "session_id",
        key_value: "{session_id}",
        waitForBranches: ["car_brand_cls", "car_part_det"],
        fields: { brand: "{car_brand_cls.brand}", model: "{car_part_det.model}" },
      }],
      branches: [
        {
          // triggered by the Car, classifies the Frontal: the whole crop's mean colour
          modelId: "car_brand_cls",
          modelFile: "brand.onnx",
          triggerClasses: ["Car"],
          crop: true,
          cropClass: "Frontal",
          resizeTarget: [224, 224],
          minConfidence: 0.5,
          parallel: true,
          branches: [],
        },
        {
          // detection on the Car's crop, then the body type from the Car region of that crop
          modelId: "car_part_det",
          modelFile: "detector.onnx",
          resultField: "model",
          triggerClasses: ["Car"],
          crop: true,
          cropClass: "Car",
          resizeTarget: [320, 320],
          minConfidence: 0.5,
          parallel: true,
          branches: [{
            modelId: "car_bodytype_cls",
            modelFile: "bodytype.onnx",
            triggerClasses: ["Frontal"],
            crop: true,
            cropClass: "Car",
            resizeTarget: [224, 224],
            minConfidence: 0.5,
            branches: [],
          }],
        },
      ],
    },
  };
  return zipDeterministic({
    "pipeline.json": json(pipeline),
    "detector.onnx": buildColourDetector(),
    "brand.onnx": buildColourClassifier({ classes: BRAND_CLASSES, family: "any" }),
    "bodytype.onnx": buildColourClassifier({ classes: BODY_TYPE_CLASSES, family: "red" }),
  });
}

/** The frame as an H.264 video (static, 2 fps) for replay and the RTSP server. */
async function frameVideo(jpeg: string, out: string): Promise<void> {
  const r = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-loop",
      "1",
      "-framerate",
      "2",
      "-i",
      jpeg,
      "-t",
      "120",
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-crf",
      "12",
      "-g",
      "2",
      "-bf",
      "0",
      "-pix_fmt",
      "yuv420p",
      out,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

interface Shape {
  class: string | null;
  fields: Record<string, unknown>;
  branches?: Record<string, Shape>;
}

/** Branch results without confidences and boxes (decoders differ by a pixel or a rounding). */
function shapeOf(branches: Record<string, Record<string, unknown>>): Record<string, Shape> {
  return Object.fromEntries(
    Object.entries(branches).map(([id, b]) => {
      const nested = (b.branches ?? b.branchResults) as
        | Record<string, Record<string, unknown>>
        | undefined;
      const s: Shape = { class: (b.class as string) ?? null, fields: b.fields as Shape["fields"] };
      if (nested) s.branches = shapeOf(nested);
      return [id, s];
    }),
  );
}

/** The printed branches back in PipelineResult form, for the worker's field mapping. */
function asResults(
  branches: Record<string, Record<string, unknown>>,
): Record<string, BranchResult> {
  return Object.fromEntries(
    Object.entries(branches).map(([id, b]) => [id, {
      modelId: id,
      class: (b.class as string) ?? undefined,
      fields: b.fields as BranchResult["fields"],
      ...(b.branches ? { branchResults: b.branches as Record<string, BranchResult> } : {}),
    }]),
  );
}

const EXPECTED: Record<string, Shape> = {
  car_brand_cls: { class: "Ford", fields: { brand: "Ford" } },
  car_part_det: {
    class: "Car",
    fields: { model: "Car" },
    branches: {
      car_bodytype_cls: { class: "SUV", fields: { body_type: "SUV" } },
    },
  },
};

Deno.test({
  name: "one frame through detect --mpta, replay and run: the same branch results",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "same_frame_" });
    const files = serveFiles({ "/parts.mpta": archive() });
    try {
      const jpeg = `${dir}/frame.jpg`;
      const mpta = `${dir}/parts.mpta`;
      const video = `${dir}/frame.mp4`;
      await Deno.writeFile(jpeg, await colourFrameJpeg(SCENE));
      await Deno.writeFile(mpta, archive());
      await frameVideo(jpeg, video);

      // detect
      const det = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "detect", jpeg, "--mpta", mpta],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(det.code, 0, new TextDecoder().decode(det.stderr));
      const detected = JSON.parse(new TextDecoder().decode(det.stdout));
      assert.deepEqual(shapeOf(detected.branches), EXPECTED);
      assert.equal(detected.skipped, undefined, "pre-validation passed");

      // replay (two frames of the video)
      const out = `${dir}/frames.jsonl`;
      const replay = runDetector([
        "replay",
        video,
        "--mpta",
        mpta,
        "--out",
        out,
        "--dry-run",
        "--size",
        "full",
        "--every",
        "120",
        "--spool-dir",
        `${dir}/spool`,
      ]);
      const status = await replay.status;
      assert.equal(status.code, 0, replay.output().slice(-3000));
      const lines = await readLines(out);
      assert.ok(lines.length >= 1, "replay printed a frame");
      for (const line of lines) {
        const branches = line.branches as Record<string, Record<string, unknown>>;
        assert.deepEqual(shapeOf(branches), EXPECTED, `replay frame ${line.frame}`);
        for (const [id, b] of Object.entries(branches)) {
          const c = detected.branches[id].confidence;
          assert.ok(
            Math.abs((b.confidence as number) - c) < 0.05,
            `${id}: ${b.confidence} vs ${c}`,
          );
        }
      }

      // run: the worker reads the video from a real RTSP server, the backend subscribes
      const rtsp = await startRtspServer({ file: video });
      const worker = await startDetector([
        "run",
        "--host",
        "127.0.0.1",
        "--model-dir",
        `${dir}/models`,
        "--spool-dir",
        `${dir}/spool`,
      ]);
      const backend = await connectBackend(worker.url);
      try {
        backend.send({
          type: "subscribe",
          payload: {
            subscriptionIdentifier: "display-1;cam-1",
            rtspUrl: rtsp.url,
            modelUrl: files.url("/parts.mpta"),
            modelId: 7,
            modelName: "Parts",
          },
        });
        const report = await backend.waitFor(
          (m: Message) => m.type === "imageDetection",
          "imageDetection",
          60_000,
        );
        const expected = detectionFields({
          detection: null,
          regions: {},
          branchResults: asResults(detected.branches),
          sessionId: null,
          timings: {},
        });
        assert.deepEqual(expected, {
          carModel: "Car",
          carBrand: "Ford",
          carYear: null,
          bodyType: "SUV",
          licensePlateText: null,
          licensePlateConfidence: null,
        });
        assert.deepEqual(report.data.detection, expected);
      } catch (err) {
        console.error(worker.output().slice(-6000));
        throw err;
      } finally {
        await backend.close();
        await worker.stop();
        await rtsp.stop();
      }
    } finally {
      await files.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
