import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { noisyJpeg } from "../harness/jpeg_fixtures.ts";
import { metrics, metricValue } from "../harness/push_client.ts";

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
