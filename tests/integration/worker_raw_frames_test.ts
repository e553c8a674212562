/**
 * `main.ts run` reads RTSP cameras as raw frames: ffmpeg writes RGB (no MJPEG encode), scaled down
 * to the analysis size unless `--analysis-size full`; the pipeline takes the pixels, positions are
 * reported in the camera's pixels either way, and a JPEG is made only for the image endpoint and
 * saved crops. A 1280×720 camera encoded with x264's defaults (B-frames, 250-frame GOP), the
 * car-scene colour models.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { walkJpeg } from "../../src/core/jpeg.ts";
import { connectBackend, type Message } from "../harness/backend_client.ts";
import { startDetector } from "../harness/detector.ts";
import { serveFiles } from "../harness/http_files.ts";
import { eventually } from "../harness/process.ts";
import { startRedis } from "../harness/redis.ts";
import { startRtspServer } from "../harness/rtsp_server.ts";
import {
  carSceneBoxes,
  carSceneVideo,
  childPids,
  vehicleArchive,
} from "../harness/worker_fixtures.ts";

const LONG = 60_000;
const W = 1280, H = 720;
const { car: CAR, front: FRONT } = carSceneBoxes(W, H);
/** Corners of the scene's boxes in the camera's pixels. */
const CORNERS = [CAR, FRONT].map(([x, y, w, h]) => [x, y, x + w, y + h]);

function jpegSize(bytes: Uint8Array): [number, number] {
  const info = walkJpeg(bytes);
  assert.ok(info !== "incomplete" && info.ok, "a complete JPEG");
  return [info.info.width, info.info.height];
}

async function cmdline(pid: number): Promise<string[]> {
  const raw = await Deno.readTextFile(`/proc/${pid}/cmdline`);
  return raw.split("\0").filter((a) => a !== "");
}

interface Case {
  args: string[];
  /** Scale of the frames the pipelines see, against the camera's picture. */
  scale: number;
}

async function rawFramesCase({ args, scale }: Case): Promise<void> {
  const dir = await Deno.makeTempDir();
  const rtsp = await startRtspServer({
    file: await carSceneVideo({ width: W, height: H, x264Defaults: true }),
  });
  const redis = await startRedis();
  const files = serveFiles({
    "/vehicle.mpta": vehicleArchive({ databases: "redis", publish: "{display_id} {bbox}" }),
  });
  const published: string[] = [];
  const listener = await redis.client();
  await listener.subscribe("car_detections", (message) => void published.push(message));
  const detector = await startDetector([
    "run",
    "--host",
    "127.0.0.1",
    "--model-dir",
    `${dir}/models`,
    "--spool-dir",
    `${dir}/spool`,
    ...args,
  ], { DETECTOR_REDIS_URL: redis.url });
  const backend = await connectBackend(detector.url);
  try {
    const sub = (id: string, over: Record<string, unknown> = {}) => ({
      subscriptionIdentifier: id,
      rtspUrl: rtsp.url,
      modelUrl: files.url("/vehicle.mpta"),
      modelId: 7,
      modelName: "Vehicle",
      ...over,
    });
    // the crop holds the whole car, in the camera's pixels, with a margin
    const crop = { cropX1: CAR[0] - 40, cropY1: CAR[1] - 30, cropX2: 1000, cropY2: 620 };
    backend.send({
      type: "setSubscriptionList",
      subscriptions: [sub("display-1;cam-1"), sub("display-2;cam-1", crop)],
    });
    for (const id of ["display-1;cam-1", "display-2;cam-1"]) {
      const report = await backend.waitFor(
        (m: Message) =>
          m.type === "imageDetection" && m.subscriptionIdentifier === id &&
          m.data.detection.carBrand !== null,
        `a report with a brand from ${id}`,
        LONG,
      );
      assert.equal(report.data.detection.carBrand, "Honda", id);
      assert.equal(report.data.detection.bodyType, "Sedan", id);
    }

    // one ffmpeg for both subscriptions, writing raw RGB frames: no MJPEG encoder
    const ffmpeg = await childPids(detector.pid, "ffmpeg");
    assert.equal(ffmpeg.length, 1, "one ffmpeg for two subscriptions on one URL");
    const argv = await cmdline(ffmpeg[0]);
    const at = (flag: string) => argv[argv.indexOf(flag) + 1];
    assert.equal(at("-c:v"), "ppm", `raw frames (binary PPM): ${argv.join(" ")}`);
    assert.match(at("-vf"), /format=rgb24/);
    assert.equal(at("-vf").includes("scale="), scale !== 1, `scaled in ffmpeg: ${at("-vf")}`);
    assert.ok(!argv.includes("mjpeg"), `no MJPEG encode: ${argv.join(" ")}`);

    // positions in the camera's pixels, whatever size the pipeline saw: the event's box
    const message = await eventually(
      () => Promise.resolve(published.find((m) => m.startsWith("display-1 "))),
      "a published event of the whole frame",
      LONG,
    );
    const bbox = JSON.parse(message.slice("display-1 ".length)) as number[];
    assert.ok(
      CORNERS.some((c) => c.every((v, i) => Math.abs(v - bbox[i]) <= 12)),
      `event box ${JSON.stringify(bbox)} is one of ${JSON.stringify(CORNERS)}`,
    );

    // the image endpoint encodes a JPEG of the raw frame: whole, and cropped
    const cropped = scale === 1 ? [848, 506] : [
      Math.ceil(1000 * scale) - Math.floor(crop.cropX1 * scale),
      Math.ceil(620 * scale) - Math.floor(crop.cropY1 * scale),
    ];
    for (
      const [id, size] of [["display-1;cam-1", [W * scale, H * scale]], [
        "display-2;cam-1",
        cropped,
      ]]
    ) {
      const res = await fetch(`${detector.url}/camera/${encodeURIComponent(id as string)}/image`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "image/jpeg");
      assert.deepEqual(jpegSize(new Uint8Array(await res.arrayBuffer())), size, String(id));
    }

    // redis_save_image stored the Frontal crop, encoded from the pixels the pipeline saw
    const client = await redis.client();
    const keys = await eventually(
      async () => {
        const k = await client.keys("inference:*");
        return k.length ? k : undefined;
      },
      "a saved Frontal image in Redis",
      LONG,
    );
    const saved = await client.sendCommand(["GET", keys[0]], { typeMapping: { 36: Buffer } });
    const [w, h] = jpegSize(new Uint8Array(saved as unknown as Uint8Array));
    assert.ok(
      Math.abs(w - FRONT[2] * scale) <= 8 && Math.abs(h - FRONT[3] * scale) <= 8,
      `saved Frontal crop ${w}x${h}, box ${FRONT[2]}x${FRONT[3]} × ${scale}`,
    );
  } catch (err) {
    console.error(detector.output().slice(-6000));
    throw err;
  } finally {
    await backend.close();
    const status = await detector.stop(10_000);
    await files.close();
    await rtsp.stop();
    await redis.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0);
  }
}

Deno.test({
  name: "run: raw frames scaled to the analysis size (640): positions in camera pixels, one ffmpeg",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => rawFramesCase({ args: [], scale: 0.5 }),
});

Deno.test({
  name: "run: raw frames at full size (--analysis-size full): image JPEG, crop, camera pixels",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => rawFramesCase({ args: ["--analysis-size", "full"], scale: 1 }),
});
