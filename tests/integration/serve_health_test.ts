/**
 * Status that tells the truth: /healthz with a dead camera (and --healthz-strict), fps of a dead
 * camera, a missing video device named, malformed query parameters refused with 400.
 */
import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { freePort } from "../harness/ports.ts";
import { eventually } from "../harness/process.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const cams = (dead: number) => [
  "--source",
  "live=testpattern:?fps=8&size=160x90",
  "--source",
  `dead=rtsp://127.0.0.1:${dead}/nothing`,
  "--source",
  "usb=v4l2:/dev/video-not-there",
];

Deno.test("healthz counts live and down cameras; strict mode answers 503; query errors are 400", async () => {
  const d = await startDetector(["serve", ...cams(freePort())]);
  try {
    const health: Json = await eventually(
      async () => {
        const body = await (await fetch(`${d.url}/healthz`)).json();
        return body.cameras.live === 1 && body.cameras.down.length === 2 ? body : undefined;
      },
      "one live and two down cameras",
      20_000,
    );
    assert.equal(health.status, "degraded");
    assert.deepEqual(health.cameras.down.sort(), ["dead", "usb"]);

    const cameras: Json[] = await (await fetch(`${d.url}/cameras`)).json();
    const usb = cameras.find((c) => c.name === "usb");
    await eventually(
      async () => {
        const all: Json[] = await (await fetch(`${d.url}/cameras`)).json();
        return all.find((c) => c.name === "usb").detail.reason === "no_device";
      },
      "the missing device named",
      20_000,
    );
    assert.equal(usb.fps, 0);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    assert.match(metrics, /detector_camera_up\{camera="live"\} 1/);
    assert.match(metrics, /detector_camera_up\{camera="dead"\} 0/);

    for (
      const path of [
        "/stream.mjpg?fps=abc",
        "/cameras/live/stream.mjpg?fps=-1",
        "/cameras/live/events?fps=",
        "/cameras/live/events?images=maybe",
      ]
    ) {
      const res = await fetch(`${d.url}${path}`);
      assert.equal(res.status, 400, path);
      const body = await res.json();
      const name = path.includes("images") ? "images" : "fps";
      assert.equal(body.parameter, name, path);
      assert.match(body.error, new RegExp(`query parameter ${name}=`));
    }
    const ok = await fetch(`${d.url}/cameras/live/stream.mjpg?fps=2`);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    assert.match(await (await fetch(`${d.url}/metrics`)).text(), /detector_http_bad_query_total/);
  } finally {
    await d.stop();
  }

  const strict = await startDetector(["serve", ...cams(freePort()), "--healthz-strict"]);
  try {
    const res = await eventually(
      async () => {
        const r = await fetch(`${strict.url}/healthz`);
        const body = await r.json();
        return body.cameras.live === 1 ? { status: r.status, body } : undefined;
      },
      "the live camera counted",
      20_000,
    );
    assert.equal(res.status, 503);
    assert.equal(res.body.status, "degraded");
  } finally {
    await strict.stop();
  }
});
