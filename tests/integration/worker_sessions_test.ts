/**
 * `main.ts run` with the full example archive (Redis and PostgreSQL actions) against real Redis and
 * PostgreSQL, reading a Digest-protected HTTP snapshot camera: pipeline session ids in
 * `imageDetection`, `patchSession` for a display with a backend session, `patchSessionResult`.
 */
import assert from "node:assert/strict";
import { CAR_SCENE, colourFrameJpeg } from "../../src/testmodels/frames.ts";
import { connectBackend, type Message } from "../harness/backend_client.ts";
import { startDetector } from "../harness/detector.ts";
import { startCameraServer } from "../harness/digest_server.ts";
import { serveFiles } from "../harness/http_files.ts";
import { startPostgres } from "../harness/postgres.ts";
import { eventually } from "../harness/process.ts";
import { startRedis } from "../harness/redis.ts";
import { vehicleArchive } from "../harness/worker_fixtures.ts";

const LONG = 45_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test({
  name: "worker sessions: snapshot camera, pipeline session ids, patchSession, database row",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const jpeg = await colourFrameJpeg(CAR_SCENE);
    const camera = startCameraServer({ auth: "digest", jpeg: () => jpeg });
    const redis = await startRedis();
    const pg = await startPostgres();
    const files = serveFiles({ "/full.mpta": vehicleArchive() });
    const detector = await startDetector([
      "run",
      "--host",
      "127.0.0.1",
      "--model-dir",
      `${dir}/models`,
      "--spool-dir",
      `${dir}/spool`,
    ], { DETECTOR_REDIS_URL: redis.url, DETECTOR_POSTGRES_URL: pg.url });
    const backend = await connectBackend(detector.url);
    try {
      const snapshotUrl = camera.origin.replace("http://", "http://admin:s3cret@") + "/snap.jpg";
      backend.send({
        type: "setSessionId",
        payload: { displayIdentifier: "display-9", sessionId: 4242 },
      });
      backend.send({
        type: "setSubscriptionList",
        subscriptions: [{
          subscriptionIdentifier: "display-9;gate",
          snapshotUrl,
          snapshotInterval: 250,
          modelUrl: files.url("/full.mpta"),
          modelId: 55,
          modelName: "Vehicle full",
        }],
      });
      const isReport = (m: Message) =>
        m.type === "imageDetection" && m.subscriptionIdentifier === "display-9;gate";
      const withSession = await backend.waitFor(
        (m) => isReport(m) && typeof m.sessionId === "string",
        "a report carrying the pipeline's session id",
        LONG,
      );
      assert.match(withSession.sessionId, UUID);
      assert.equal(withSession.data.detection.carBrand, "Honda");
      assert.equal(withSession.data.detection.bodyType, "Sedan");

      const patch = await backend.waitFor((m) => m.type === "patchSession", "patchSession", LONG);
      assert.deepEqual(patch, {
        type: "patchSession",
        sessionId: 4242,
        data: { currentCar: { carBrand: "Honda", bodyType: "Sedan" } },
      });
      backend.send({
        type: "patchSessionResult",
        payload: { sessionId: 4242, success: false, message: "display busy" },
      });

      const sql = pg.sql();
      const rows = await eventually(
        async () => {
          const r = await sql`SELECT car_brand, car_body_type FROM gas_station_1.car_frontal_info
          WHERE session_id = ${withSession.sessionId}`;
          return r.length && r[0].car_brand ? r : undefined;
        },
        "the combined row in PostgreSQL",
        LONG,
      );
      assert.deepEqual([rows[0].car_brand, rows[0].car_body_type], ["Honda", "Sedan"]);

      backend.send({ type: "requestState" });
      const state = await backend.waitFor(
        (m) => m.type === "stateReport" && m.cameraConnections[0]?.online === true,
        "online snapshot subscription",
        LONG,
      );
      const conn = state.cameraConnections[0];
      assert.equal(conn.snapshotInterval, 250);
      assert.ok(!JSON.stringify(state).includes("s3cret"), "password stripped");
      assert.ok(camera.stats.authorized > 0, "the snapshot camera was read with Digest");
      assert.ok(!detector.output().includes("s3cret"), "password never logged");

      await eventually(async () => {
        const text = await (await fetch(`${detector.url}/metrics`)).text();
        return /detector_worker_patch_session_failures_total 1/.test(text);
      }, "patchSessionResult failure counted");
      assert.match(detector.output(), /patchSession refused by the backend .*display busy/);
    } finally {
      await backend.close();
      const status = await detector.stop(10_000);
      await files.close();
      await camera.close();
      await pg.close();
      await redis.close();
      await Deno.remove(dir, { recursive: true });
      assert.equal(status.code, 0);
    }
  },
});
