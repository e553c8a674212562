import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startDetector } from "../harness/detector.ts";
import { noisyJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import {
  closePeer,
  framed,
  handshake,
  metrics,
  metricValue,
  openPush,
} from "../harness/push_client.ts";
import { snapshot, within } from "./source_helpers.ts";

const TOKEN = "limits-token";

async function upload(url: string, camera: string, jpeg: Uint8Array): Promise<number> {
  const res = await fetch(`${url}/cameras/${camera}/image`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "image/jpeg" },
    body: jpeg as Uint8Array<ArrayBuffer>,
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("uploads: --max-cameras caps new camera names (429), body memory is budgeted", async () => {
  const det = await startDetector([
    "serve",
    "--upload-token",
    TOKEN,
    "--max-cameras",
    "2",
    "--max-body-memory-per-address",
    "20000",
  ]);
  try {
    const small = await noisyJpeg(32, 24, 1);
    assert.ok(small.length < 20000);
    assert.equal(await upload(det.url, "a", small), 200);
    assert.equal(await upload(det.url, "b", small), 200);
    assert.equal(await upload(det.url, "c", small), 429);
    assert.equal(await upload(det.url, "a", small), 200, "known cameras keep working");
    const big = await noisyJpeg(320, 240, 2);
    assert.ok(big.length > 20000, `${big.length}`);
    assert.equal(await upload(det.url, "b", big), 429);
    const text = await metrics(det.url);
    assert.equal(
      metricValue(text, "detector_push_rejected_total", {
        via: "http",
        reason: "too_many_cameras",
      }),
      1,
    );
    assert.equal(metricValue(text, "detector_body_budget_refused_total", { scope: "address" }), 1);
    const cameras = await (await fetch(`${det.url}/cameras`)).json() as { name: string }[];
    assert.deepEqual(cameras.map((c) => c.name).sort(), ["a", "b"]);
  } finally {
    await det.stop();
  }
});

Deno.test("WebSocket push: held bytes count in the body budget, over it 1008", async () => {
  const SECRET = "limits-secret";
  const det = await startDetector([
    "serve",
    "--max-body-memory-per-address",
    "20000",
  ], { DETECTOR_PUSH_SECRET: SECRET });
  const token = (id: number) => createHmac("sha256", SECRET).update(String(id)).digest("hex");
  const inFlight = async () => metricValue(await metrics(det.url), "detector_body_bytes_in_flight");
  try {
    const jpeg = await noisyJpeg(160, 120, 5);
    assert.ok(jpeg.byteLength > 12_000 && jpeg.byteLength < 20_000, `${jpeg.byteLength}`);
    const a = await openPush(det.url);
    const b = await openPush(det.url);
    a.send(handshake(1, token(1)));
    b.send(handshake(2, token(2)));
    const frameA = framed(jpeg);
    a.send(frameA.subarray(0, 12_000));
    // The 4-byte length is parsed; the frame's first 11 996 bytes wait for the rest.
    await eventually(async () => await inFlight() === 11_996, "frame bytes held for camera 1");

    b.send(framed(jpeg).subarray(0, 12_000));
    const refused = await within(b.closed, 10_000, "camera 2 refused");
    assert.equal(refused.code, 1008);
    assert.match(refused.reason, /too much sent at once from this address/);

    a.send(frameA.subarray(12_000));
    await eventually(async () => {
      const got = await snapshot(det.url, "1");
      return !!got && got.byteLength === jpeg.byteLength;
    }, "camera 1 frame delivered");
    await eventually(async () => await inFlight() === 0, "nothing held once delivered");
    a.send(framed(jpeg));
    await eventually(
      async () =>
        metricValue(await metrics(det.url), "detector_push_frames_total", { via: "ws" }) === 2,
      "camera 1 second frame",
    );
    await closePeer(a);

    const text = await metrics(det.url);
    assert.equal(
      metricValue(text, "detector_push_rejected_total", { via: "ws", reason: "address_busy" }),
      1,
    );
    assert.equal(metricValue(text, "detector_body_budget_refused_total", { scope: "address" }), 1);
    assert.equal(metricValue(text, "detector_body_bytes_in_flight"), 0);
  } finally {
    await det.stop();
  }
});
