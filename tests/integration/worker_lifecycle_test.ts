/**
 * `main.ts run` against a scripted backend (PROTOCOL.md "Lifecycle"): a real RTSP server fed by a
 * generated car video, the example archive (colour models) served over HTTP, the real pipeline.
 */
import assert from "node:assert/strict";
import { walkJpeg } from "../../src/core/jpeg.ts";
import { type BackendClient, connectBackend, type Message } from "../harness/backend_client.ts";
import { type Detector, startDetector } from "../harness/detector.ts";
import { type HttpFiles, serveFiles } from "../harness/http_files.ts";
import { eventually } from "../harness/process.ts";
import { type RtspServer, startRtspServer } from "../harness/rtsp_server.ts";
import { carSceneVideo, childPids, vehicleArchive } from "../harness/worker_fixtures.ts";

const LONG = 45_000;

interface World {
  rtsp: RtspServer;
  /** A second camera (the harness server may answer 503 to a client that comes after a teardown). */
  rtsp2: RtspServer;
  files: HttpFiles;
  detector: Detector;
  dir: string;
}

async function withWorld(args: string[], fn: (w: World) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const rtsp = await startRtspServer({ file: await carSceneVideo() });
  const rtsp2 = await startRtspServer({ file: await carSceneVideo() });
  const files = serveFiles({ "/vehicle.mpta": vehicleArchive({ databases: false }) });
  let detector: Detector | undefined;
  try {
    detector = await startDetector([
      "run",
      "--host",
      "127.0.0.1",
      "--model-dir",
      `${dir}/models`,
      "--spool-dir",
      `${dir}/spool`,
      ...args,
    ]);
    await fn({ rtsp, rtsp2, files, detector, dir });
  } catch (err) {
    if (detector) console.error(detector.output().slice(-6000));
    throw err;
  } finally {
    await detector?.stop();
    await rtsp.stop();
    await rtsp2.stop();
    await files.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function subscription(w: World, id: string, over: Record<string, unknown> = {}) {
  return {
    subscriptionIdentifier: id,
    rtspUrl: w.rtsp.url,
    modelUrl: w.files.url("/vehicle.mpta"),
    modelId: 101,
    modelName: "Vehicle",
    ...over,
  };
}

const reportOf = (id: string) => (m: Message) =>
  m.type === "imageDetection" && m.subscriptionIdentifier === id;
const isState = (m: Message) => m.type === "stateReport";
const modelReadyCount = (d: Detector, id: string) =>
  d.output().split("\n").filter((l) =>
    l.includes("model ready") && l.includes(`subscription=${id}`)
  )
    .length;

async function imageSize(url: string): Promise<[number, number]> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  assert.equal(res.headers.get("content-type"), "image/jpeg");
  const info = walkJpeg(new Uint8Array(await res.arrayBuffer()));
  assert.ok(info !== "incomplete" && info.ok, "a complete JPEG");
  return [info.info.width, info.info.height];
}

Deno.test({
  name: "worker lifecycle: heartbeat, shared camera, detections, crops, grace, removal, SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withWorld(["--grace", "20s"], async (w) => {
      const d = w.detector;
      let backend: BackendClient = await connectBackend(d.url);
      try {
        // heartbeat: one on connect and the next one within 2.5 s
        const first = await backend.waitFor(isState, "stateReport on connect", 2500);
        assert.equal(typeof first.cpuUsage, "number");
        assert.equal(typeof first.memoryUsage, "number");
        assert.equal(first.gpuUsage, null);
        await backend.waitForCount(isState, 2, "periodic heartbeat", 2500);

        // two displays on one camera: one ffmpeg, two report streams with brand and body type
        const crop = { cropX1: 64, cropY1: 36, cropX2: 464, cropY2: 336 };
        const list = [subscription(w, "display-1;cam-1", crop), subscription(w, "display-2;cam-1")];
        backend.send({ type: "setSubscriptionList", subscriptions: list });
        for (const id of ["display-1;cam-1", "display-2;cam-1"]) {
          const reports = await backend.waitForCount(reportOf(id), 3, `reports of ${id}`, LONG);
          const r = reports.at(-1)!;
          assert.ok(!Number.isNaN(Date.parse(r.timestamp)));
          assert.deepEqual(r.data, {
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
        }
        const ffmpeg = await childPids(d.pid, "ffmpeg");
        assert.equal(ffmpeg.length, 1, "one ffmpeg child for two displays on one camera");

        // image API: the cropped frame (`;` percent-encoded or not), the whole frame without crop
        assert.deepEqual(await imageSize(`${d.url}/camera/display-1%3Bcam-1/image`), [400, 300]);
        assert.deepEqual(await imageSize(`${d.url}/camera/display-2;cam-1/image`), [640, 360]);

        // requestState lists both, online
        let mark = backend.received.length;
        backend.send({ type: "requestState" });
        const state = await backend.waitFor(isState, "stateReport on requestState", 5000, mark);
        assert.deepEqual(
          state.cameraConnections.map((
            c: Message,
          ) => [c.subscriptionIdentifier, c.online, c.cropX2]),
          [["display-1;cam-1", true, 464], ["display-2;cam-1", true, undefined]],
        );
        assert.equal(state.cameraConnections[0].rtspUrl, w.rtsp.url);

        // changing a crop restarts only that subscription; the shared reader stays
        assert.equal(modelReadyCount(d, "display-1;cam-1"), 1);
        assert.equal(modelReadyCount(d, "display-2;cam-1"), 1);
        const crop2 = { cropX1: 0, cropY1: 0, cropX2: 320, cropY2: 180 };
        list[0] = subscription(w, "display-1;cam-1", crop2);
        backend.send({ type: "setSubscriptionList", subscriptions: list });
        await eventually(
          () => modelReadyCount(d, "display-1;cam-1") === 2,
          "display-1 restarted",
          LONG,
        );
        await eventually(
          async () => (await imageSize(`${d.url}/camera/display-1%3Bcam-1/image`))[0] === 320,
          "the new crop in the image API",
          LONG,
        );
        assert.deepEqual(await imageSize(`${d.url}/camera/display-1%3Bcam-1/image`), [320, 180]);
        assert.equal(modelReadyCount(d, "display-2;cam-1"), 1, "display-2 not restarted");
        assert.deepEqual(await childPids(d.pid, "ffmpeg"), ffmpeg, "the same ffmpeg child");
        mark = backend.received.length;
        await backend.waitForCount(
          reportOf("display-1;cam-1"),
          2,
          "reports after the change",
          LONG,
          mark,
        );

        // backend goes away and comes back within the grace period: no restart
        await backend.close();
        backend = await connectBackend(d.url);
        await backend.waitFor(isState, "stateReport on reconnect", 2500);
        backend.send({ type: "setSubscriptionList", subscriptions: list });
        mark = backend.received.length;
        await backend.waitForCount(
          reportOf("display-2;cam-1"),
          2,
          "reports after reconnect",
          LONG,
          mark,
        );
        assert.equal(modelReadyCount(d, "display-1;cam-1"), 2);
        assert.equal(modelReadyCount(d, "display-2;cam-1"), 1);
        assert.deepEqual(await childPids(d.pid, "ffmpeg"), ffmpeg, "the reader kept running");

        // removing all stops the reader: no ffmpeg child left
        backend.send({ type: "setSubscriptionList", subscriptions: [] });
        await eventually(
          async () => (await childPids(d.pid, "ffmpeg")).length === 0,
          "no ffmpeg child of the detector",
          LONG,
        );
        mark = backend.received.length;
        backend.send({ type: "requestState" });
        const empty = await backend.waitFor(isState, "state after removal", 5000, mark);
        assert.deepEqual(empty.cameraConnections, []);
        const gone = await fetch(`${d.url}/camera/display-1%3Bcam-1/image`);
        assert.equal(gone.status, 404);
        await gone.body?.cancel();

        // SIGTERM with a subscription running: the backend gets 1001, ffmpeg is stopped, exit 0
        backend.send({
          type: "subscribe",
          payload: subscription(w, "display-3;cam-2", { rtspUrl: w.rtsp2.url }),
        });
        await backend.waitFor(reportOf("display-3;cam-2"), "report before shutdown", LONG);
        assert.equal((await childPids(d.pid, "ffmpeg")).length, 1);
        const status = await d.stop(10_000);
        assert.equal(status.code, 0, "exit 0 on SIGTERM");
        assert.equal((await backend.closed).code, 1001);
        assert.deepEqual(await childPids(d.pid, "ffmpeg"), []);
      } finally {
        await backend.close();
      }
    });
  },
});

Deno.test({
  name: "worker: legacy subscribe/unsubscribe leave other subscriptions alone; setSessionId",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withWorld([], async (w) => {
      const backend = await connectBackend(w.detector.url);
      try {
        backend.send({ type: "subscribe", payload: subscription(w, "d1;cam") });
        backend.send({ type: "subscribe", payload: subscription(w, "d2;cam") });
        backend.send({
          type: "setSessionId",
          payload: { displayIdentifier: "d2", sessionId: 777 },
        });
        await backend.waitFor(reportOf("d1;cam"), "d1 report", LONG);
        const withSession = await backend.waitFor(
          (m) => reportOf("d2;cam")(m) && m.sessionId === 777,
          "d2 report carrying the backend session",
          LONG,
        );
        assert.equal(withSession.data.detection.carBrand, "Honda");
        backend.send({ type: "unsubscribe", payload: { subscriptionIdentifier: "d1;cam" } });
        const mark = backend.received.length + 1;
        backend.send({ type: "requestState" });
        const state = await backend.waitFor(
          (m) => isState(m) && m.cameraConnections.length === 1,
          "state with only d2",
          LONG,
          mark - 1,
        );
        assert.equal(state.cameraConnections[0].subscriptionIdentifier, "d2;cam");
        assert.equal(modelReadyCount(w.detector, "d2;cam"), 1, "d2 never restarted");
        const after = backend.received.length;
        await backend.waitForCount(reportOf("d2;cam"), 2, "d2 keeps reporting", LONG, after);
      } finally {
        await backend.close();
      }
    });
  },
});
