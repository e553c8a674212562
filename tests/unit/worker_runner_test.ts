/**
 * SubscriptionRunner with real shared readers (generated test-pattern cameras) and an in-test
 * fake of the PipelineRunner interface (the real runner is exercised by the integration tests).
 */
import assert from "node:assert/strict";
import { FrameCache } from "../../src/core/frame_cache.ts";
import { walkJpeg } from "../../src/core/jpeg.ts";
import type { PipelineArchive } from "../../src/mpta/types.ts";
import type { FrameInput, PipelineResult, PipelineRunner } from "../../src/pipeline/types.ts";
import { SharedReaders } from "../../src/sources/shared_readers.ts";
import { DisplaySessions } from "../../src/worker/display_sessions.ts";
import type { PipelineLease } from "../../src/worker/pipeline_pool.ts";
import type { SubscriptionSpec } from "../../src/worker/subscription_spec.ts";
import {
  pipelineInput,
  type PipelineSource,
  SubscriptionRunner,
} from "../../src/worker/subscription_runner.ts";
import { Metrics } from "../../src/core/metrics.ts";
import { eventually } from "../harness/process.ts";

// deno-lint-ignore no-explicit-any
type Msg = Record<string, any>;

function spec(id: string, camera: string, over: Partial<SubscriptionSpec> = {}): SubscriptionSpec {
  const [displayId, cameraId] = id.split(";");
  return {
    subscriptionIdentifier: id,
    displayId,
    cameraId,
    rtspUrl: camera,
    modelUrl: "/models/fake.mpta",
    modelId: 101,
    modelName: "Vehicle",
    ...over,
  };
}

function result(over: Partial<PipelineResult> = {}): PipelineResult {
  return {
    detection: { class: "Car", classId: 0, confidence: 0.9, box: [0, 0, 10, 10] },
    regions: {},
    branchResults: {
      car_brand_cls_v1: {
        modelId: "car_brand_cls_v1",
        class: "Honda",
        confidence: 0.9,
        fields: { brand: "Honda" },
      },
      car_bodytype_cls_v1: {
        modelId: "car_bodytype_cls_v1",
        class: "Sedan",
        confidence: 0.9,
        fields: { body_type: "Sedan" },
      },
    },
    sessionId: null,
    timings: {},
    ...over,
  };
}

class FakeRunner implements PipelineRunner {
  inputs: FrameInput[] = [];
  constructor(
    readonly onRun: (frame: FrameInput) => Promise<PipelineResult> = () =>
      Promise.resolve(result()),
  ) {}
  run(frame: FrameInput): Promise<PipelineResult> {
    this.inputs.push(frame);
    return this.onRun(frame);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function pipelines(runner: PipelineRunner, failFirst = 0): PipelineSource & { calls: number } {
  const src = {
    calls: 0,
    acquire(): Promise<PipelineLease> {
      src.calls++;
      if (src.calls <= failFirst) {
        return Promise.reject(new Error("modelUrl http://x/m.mpta: HTTP 404 Not Found"));
      }
      return Promise.resolve({
        runner,
        archive: { hash: "h" } as PipelineArchive,
        release() {},
      });
    },
  };
  return src;
}

interface Env {
  cache: FrameCache;
  readers: SharedReaders;
  sessions: DisplaySessions;
  sent: Msg[];
  modelErrors: string[];
  runners: SubscriptionRunner[];
  start(s: SubscriptionSpec, p: PipelineSource): SubscriptionRunner;
}

async function withEnv(fn: (env: Env) => Promise<void>) {
  const cache = new FrameCache();
  const readers = new SharedReaders(cache);
  const env: Env = {
    cache,
    readers,
    sessions: new DisplaySessions(),
    sent: [],
    modelErrors: [],
    runners: [],
    start(s, p) {
      const r = new SubscriptionRunner(s, {
        cache,
        readers,
        pipelines: p,
        sessions: env.sessions,
        send: (m) => void env.sent.push(m),
        minIntervalMs: 0,
        modelRetry: { initialMs: 30, maxMs: 60 },
        onModelError: (_s, m) => void env.modelErrors.push(m),
        metrics: new Metrics(),
      });
      env.runners.push(r);
      return r;
    },
  };
  try {
    await fn(env);
  } finally {
    await Promise.all(env.runners.map((r) => r.stop()));
    await readers.stopAll();
  }
}

const reportsOf = (sent: Msg[], id: string) =>
  sent.filter((m) => m.type === "imageDetection" && m.subscriptionIdentifier === id);

Deno.test("each processed frame becomes an imageDetection with the six fields", async () => {
  await withEnv(async (env) => {
    env.start(
      spec("display-1;cam-1", "testpattern:?fps=20&size=320x180"),
      pipelines(new FakeRunner()),
    );
    const [first] = await eventually(() => {
      const r = reportsOf(env.sent, "display-1;cam-1");
      return r.length >= 2 ? r : undefined;
    }, "two reports");
    assert.deepEqual(Object.keys(first), ["type", "subscriptionIdentifier", "timestamp", "data"]);
    assert.ok(!Number.isNaN(Date.parse(first.timestamp)));
    assert.deepEqual(first.data, {
      detection: {
        carModel: null,
        carBrand: "Honda",
        carYear: null,
        bodyType: "Sedan",
        licensePlateText: null,
        licensePlateConfidence: null,
      },
      modelId: 101,
      modelName: "Vehicle",
    });
  });
});

Deno.test("the pipeline always gets the newest frame, never a backlog", async () => {
  await withEnv(async (env) => {
    let atRunStart: { input: number; latest: number }[] = [];
    let camera = "";
    const runner = new FakeRunner(async (frame) => {
      atRunStart.push({ input: frame.at, latest: env.cache.latest(camera)!.at });
      await new Promise((r) => setTimeout(r, 150)); // slower than the 25 fps camera
      return result();
    });
    const sub = env.start(spec("d;c", "testpattern:?fps=25&size=160x90"), pipelines(runner));
    camera = sub.lease.camera;
    atRunStart = [];
    await eventually(() => atRunStart.length >= 6, "six runs");
    for (const s of atRunStart) assert.equal(s.input, s.latest, "ran on the newest frame");
    const framesIn = env.cache.stats(camera)!.framesIn;
    assert.ok(sub.processed < framesIn / 2, `skipped frames (${sub.processed} of ${framesIn})`);
  });
});

Deno.test("fairness: a model stuck on one camera does not hold up another camera", async () => {
  await withEnv(async (env) => {
    let release!: () => void;
    const stuck = new Promise<void>((r) => release = r);
    const slow = new FakeRunner(async () => {
      await stuck;
      return result();
    });
    env.start(spec("d;slow", "testpattern:?fps=20&size=160x90"), pipelines(slow));
    env.start(spec("d;fast", "testpattern:?fps=20&size=160x91"), pipelines(new FakeRunner()));
    await eventually(() => reportsOf(env.sent, "d;fast").length >= 15, "fast camera reports");
    assert.equal(slow.inputs.length, 1, "the slow model is still on its first frame");
    assert.equal(reportsOf(env.sent, "d;slow").length, 0);
    release();
    await eventually(() => reportsOf(env.sent, "d;slow").length >= 1, "the slow camera reports");
  });
});

Deno.test("two displays on one camera share one reader and report separately", async () => {
  await withEnv(async (env) => {
    const url = "testpattern:?fps=20&size=160x90";
    const a = env.start(spec("d1;cam", url), pipelines(new FakeRunner()));
    const b = env.start(spec("d2;cam", url), pipelines(new FakeRunner()));
    assert.equal(env.readers.size, 1);
    assert.equal(a.lease.camera, b.lease.camera);
    await eventually(
      () => reportsOf(env.sent, "d1;cam").length >= 3 && reportsOf(env.sent, "d2;cam").length >= 3,
      "reports of both displays",
    );
    await a.stop();
    assert.equal(env.readers.size, 1, "still used by d2");
    await b.stop();
    assert.equal(env.readers.size, 0, "the last release stops the reader");
  });
});

Deno.test("a model that fails is offline and retried with backoff; others unaffected", async () => {
  await withEnv(async (env) => {
    const bad = pipelines(new FakeRunner(), 3);
    const sub = env.start(spec("d;bad", "testpattern:?fps=20&size=160x90"), bad);
    env.start(spec("d;good", "testpattern:?fps=20&size=160x92"), pipelines(new FakeRunner()));
    await eventually(() => sub.modelState === "failed", "failure");
    assert.equal(sub.online(), false);
    assert.match(sub.modelError!, /HTTP 404/);
    await eventually(() => reportsOf(env.sent, "d;good").length >= 3, "good reports");
    await eventually(() => sub.modelState === "ready", "recovery after retries", 5000);
    assert.equal(bad.calls, 4);
    assert.equal(env.modelErrors.length, 1, "the backend is told once per failure streak");
    await eventually(() => sub.online(), "online once frames arrive");
    await eventually(() => reportsOf(env.sent, "d;bad").length >= 1, "reports after recovery");
  });
});

Deno.test("crop: the pipeline gets raw RGB of the crop, the image API a JPEG of that size", async () => {
  await withEnv(async (env) => {
    const runner = new FakeRunner();
    const sub = env.start(
      spec("d;c", "testpattern:?fps=20&size=320x180", {
        crop: { x1: 10, y1: 20, x2: 110, y2: 70 },
      }),
      pipelines(runner),
    );
    await eventually(() => runner.inputs.length >= 1, "a run");
    const input = runner.inputs[0];
    assert.equal(input.jpeg, undefined);
    assert.equal(input.width, 100);
    assert.equal(input.height, 50);
    assert.equal(input.rgb!.byteLength, 100 * 50 * 3);
    const image = await sub.image()!;
    const info = walkJpeg(image.jpeg);
    assert.ok(info !== "incomplete" && info.ok);
    assert.deepEqual([info.info.width, info.info.height], [100, 50]);
  });
});

Deno.test("session ids: the pipeline's first, else the backend's; patchSession once per event", async () => {
  await withEnv(async (env) => {
    let pipelineSession: string | null = null;
    const runner = new FakeRunner(() => Promise.resolve(result({ sessionId: pipelineSession })));
    env.sessions.set("d", 12345);
    env.start(spec("d;c", "testpattern:?fps=20&size=160x90"), pipelines(runner));
    const backendOnly = await eventually(
      () => reportsOf(env.sent, "d;c").find((m) => m.sessionId === 12345),
      "report with the backend session",
    );
    assert.ok(backendOnly);
    assert.equal(env.sent.filter((m) => m.type === "patchSession").length, 0);
    pipelineSession = "6f1c0000-0000-4000-8000-000000000000";
    await eventually(
      () => reportsOf(env.sent, "d;c").filter((m) => m.sessionId === pipelineSession).length >= 3,
      "reports with the pipeline session",
    );
    const patches = env.sent.filter((m) => m.type === "patchSession");
    assert.deepEqual(patches, [{
      type: "patchSession",
      sessionId: 12345,
      data: { currentCar: { carBrand: "Honda", bodyType: "Sedan" } },
    }]);
    env.sessions.set("d", null);
    const mark = env.sent.length;
    pipelineSession = null;
    await eventually(() => reportsOf(env.sent.slice(mark), "d;c").length >= 2, "more reports");
    assert.ok(reportsOf(env.sent.slice(mark + 1), "d;c").every((m) => !("sessionId" in m)));
  });
});

Deno.test("raw frames: the pipeline gets the pixels (cropped in native pixels), no JPEG", async () => {
  const cache = new FrameCache();
  const rgb = new Uint8Array(8 * 4 * 3);
  for (let i = 0; i < 8 * 4; i++) rgb.set([i % 8, Math.floor(i / 8), 9], i * 3);
  const frame = cache.put("cam", new Uint8Array(0), { width: 8, height: 4, rgb, at: 123 });
  const whole = await pipelineInput(frame, spec("d;c", "rtsp://cam/x"));
  assert.equal(whole.rgb, rgb, "the frame's own pixels, not a copy");
  assert.deepEqual([whole.jpeg, whole.width, whole.height, whole.at], [undefined, 8, 4, 123]);
  const crop = await pipelineInput(
    frame,
    spec("d;c", "rtsp://cam/x", { crop: { x1: 5, y1: 2, x2: 20, y2: 20 } }),
  );
  assert.deepEqual([crop.width, crop.height], [3, 2], "clamped to the frame");
  assert.deepEqual([...crop.rgb!], [5, 2, 9, 6, 2, 9, 7, 2, 9, 5, 3, 9, 6, 3, 9, 7, 3, 9]);
});

Deno.test("raw frames scaled for analysis: the crop is mapped into the pixels held, positions stay the camera's", async () => {
  const cache = new FrameCache();
  const rgb = new Uint8Array(8 * 4 * 3);
  for (let i = 0; i < 8 * 4; i++) rgb.set([i % 8, Math.floor(i / 8), 9], i * 3);
  // a 32×16 camera picture held as 8×4 pixels (a quarter a side)
  const native = { width: 32, height: 16 };
  const frame = cache.put("cam", new Uint8Array(0), { width: 8, height: 4, rgb, at: 5, native });
  const whole = await pipelineInput(frame, spec("d;c", "rtsp://cam/x"));
  assert.equal(whole.rgb, rgb);
  assert.deepEqual(whole.native, native);
  const crop = await pipelineInput(
    frame,
    spec("d;c", "rtsp://cam/x", { crop: { x1: 20, y1: 8, x2: 30, y2: 15 } }),
  );
  assert.deepEqual([crop.width, crop.height], [3, 2], "pixels 5…7 × 2…3 of the 8×4 held");
  assert.deepEqual(crop.native, { width: 10, height: 7 }, "the crop's size in camera pixels");
  assert.deepEqual([...crop.rgb!], [5, 2, 9, 6, 2, 9, 7, 2, 9, 5, 3, 9, 6, 3, 9, 7, 3, 9]);
});
