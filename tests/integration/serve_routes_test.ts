import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { eventually } from "../harness/process.ts";
import { readMjpegParts, readSseEvents } from "../../bench/lib/stream_clients.ts";
import { checkJpeg } from "../../src/core/jpeg.ts";

const cameras = [
  "--source",
  "front=testpattern:?fps=8&size=160x90",
  "--source",
  "back=testpattern:?fps=8&size=200x100",
];

/** Width and height of a structurally complete JPEG (fails the test otherwise). */
function jpegSize(bytes: Uint8Array): [number, number] {
  const check = checkJpeg(bytes);
  assert.ok(check.ok, check.ok ? "" : check.reason);
  return [check.info.width, check.info.height];
}

// deno-lint-ignore no-explicit-any
type Json = any;

async function json(url: string): Promise<{ status: number; type: string; body: Json }> {
  const res = await fetch(url);
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    body: await res.json(),
  };
}

Deno.test("serve answers every route for two cameras", async (t) => {
  const d = await startDetector(["serve", ...cameras]);
  try {
    await eventually(async () => {
      const r = await json(`${d.url}/cameras`);
      return r.body.every((c: { state: string; ageMs: number | null }) =>
        c.state === "live" && c.ageMs !== null
      );
    }, "both cameras live");

    await t.step("/ is the viewer page", async () => {
      const res = await fetch(`${d.url}/`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/html/);
      const html = await res.text();
      assert.match(html, /<title>detector/);
      assert.match(html, /\/cameras/);
    });

    await t.step("/cameras lists state, fps and age in flag order", async () => {
      await eventually(async () => {
        const r = await json(`${d.url}/cameras`);
        return r.body.every((c: { fps: number }) => c.fps > 0);
      }, "fps measured");
      const r = await json(`${d.url}/cameras`);
      assert.equal(r.status, 200);
      assert.match(r.type, /^application\/json/);
      assert.deepEqual(r.body.map((c: { name: string }) => c.name), ["front", "back"]);
      for (const c of r.body) {
        assert.equal(c.state, "live");
        assert.equal(typeof c.fps, "number");
        assert.ok(c.fps > 0, `fps of ${c.name}`);
        assert.equal(typeof c.ageMs, "number");
        assert.ok(c.seq >= 1);
        assert.equal(c.stream, `/cameras/${c.name}/stream.mjpg`);
        assert.equal(c.snapshot, `/cameras/${c.name}/snapshot.jpg`);
        assert.equal(c.events, `/cameras/${c.name}/events`);
      }
      assert.deepEqual([r.body[0].width, r.body[0].height], [160, 90]);
      assert.deepEqual([r.body[1].width, r.body[1].height], [200, 100]);
    });

    await t.step("/snapshot.jpg is the first camera's newest JPEG", async () => {
      const res = await fetch(`${d.url}/snapshot.jpg`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "image/jpeg");
      assert.equal(res.headers.get("x-camera"), "front");
      assert.ok(Number(res.headers.get("x-frame-seq")) >= 1);
      const jpeg = new Uint8Array(await res.arrayBuffer());
      assert.equal(Number(res.headers.get("content-length")), jpeg.byteLength);
      assert.deepEqual(jpegSize(jpeg), [160, 90]);
    });

    await t.step("/cameras/{name}/snapshot.jpg serves that camera", async () => {
      const res = await fetch(`${d.url}/cameras/back/snapshot.jpg`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-camera"), "back");
      assert.deepEqual(jpegSize(new Uint8Array(await res.arrayBuffer())), [200, 100]);
    });

    await t.step("HEAD /snapshot.jpg gives the headers without a body", async () => {
      const res = await fetch(`${d.url}/snapshot.jpg`, { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "image/jpeg");
      assert.ok(Number(res.headers.get("content-length")) > 100);
      assert.equal((await res.arrayBuffer()).byteLength, 0);
      const head = await fetch(`${d.url}/cameras/back/snapshot.jpg`, { method: "HEAD" });
      assert.equal(head.status, 200);
      await head.body?.cancel();
    });

    await t.step("/stream.mjpg sends complete JPEG parts with rising seq", async () => {
      const parts = await readMjpegParts(`${d.url}/stream.mjpg`, 3);
      assert.equal(parts.length, 3);
      let last = 0;
      for (const p of parts) {
        assert.equal(p.headers["content-type"], "image/jpeg");
        assert.equal(p.body.byteLength, p.size);
        assert.deepEqual(jpegSize(p.body), [160, 90]);
        const seq = Number(p.headers["x-frame-seq"]);
        assert.ok(seq > last, `seq ${seq} after ${last}`);
        last = seq;
      }
    });

    await t.step("/cameras/{name}/stream.mjpg streams that camera", async () => {
      const res = await fetch(`${d.url}/cameras/back/stream.mjpg`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "multipart/x-mixed-replace; boundary=frame");
      assert.match(res.headers.get("cache-control")!, /no-store/);
      await res.body!.cancel();
      const [p] = await readMjpegParts(`${d.url}/cameras/back/stream.mjpg`, 1);
      assert.deepEqual(jpegSize(p.body), [200, 100]);
    });

    await t.step("HEAD on a stream answers at once and opens no stream", async () => {
      const res = await fetch(`${d.url}/cameras/front/stream.mjpg`, { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^multipart\/x-mixed-replace/);
      await res.body?.cancel();
      const ev = await fetch(`${d.url}/cameras/front/events`, { method: "HEAD" });
      assert.equal(ev.status, 200);
      assert.equal(ev.headers.get("content-type"), "text/event-stream");
      await ev.body?.cancel();
    });

    await t.step("/cameras/{name}/events sends one event per new frame", async () => {
      const events = await readSseEvents(`${d.url}/cameras/front/events`, 4);
      assert.equal(events.length, 4);
      let last = 0;
      for (const e of events) {
        assert.equal(e.event, "frame");
        const data = JSON.parse(e.data);
        assert.equal(data.camera, "front");
        assert.equal(e.id, String(data.seq));
        assert.ok(data.seq > last, `seq ${data.seq} after ${last}`);
        last = data.seq;
        assert.ok(!Number.isNaN(Date.parse(data.time)), `time ${data.time}`);
        assert.ok(data.size > 100, `size ${data.size}`);
        assert.equal(data.width, 160);
      }
      // Frames come at 8 fps and the cap is 30: no frame is left out of the sequence.
      const seqs = events.map((e) => JSON.parse(e.data).seq);
      assert.deepEqual(seqs.slice(1), seqs.slice(1).map((_, i) => seqs[1] + i));
    });

    await t.step("/healthz is JSON", async () => {
      const r = await json(`${d.url}/healthz`);
      assert.equal(r.status, 200);
      assert.equal(r.body.status, "ok");
      assert.deepEqual(r.body.cameras, { live: 2, down: [] });
      assert.equal(r.body.targetFps, 30);
    });

    await t.step("/metrics is Prometheus text with per-camera series", async () => {
      const res = await fetch(`${d.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      for (
        const name of [
          "detector_http_mjpeg_clients",
          "detector_http_sse_clients",
          "detector_frames_in_total",
          "detector_camera_fps",
          "detector_frame_age_seconds",
        ]
      ) {
        assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, "m"), name);
      }
      assert.match(text, /^detector_frames_in_total\{camera="front"\} [1-9]\d*$/m);
      assert.match(text, /^detector_source_state\{camera="back",state="live"\} 1$/m);
      assert.match(text, /^detector_http_mjpeg_frames_total\{camera="front"\} [1-9]\d*$/m);
      for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
        assert.match(line, /^[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+$/, line);
      }
    });

    await t.step("an unknown camera is a 404 JSON naming it and the known ones", async () => {
      for (const path of ["snapshot.jpg", "stream.mjpg", "events"]) {
        const r = await json(`${d.url}/cameras/nope/${path}`);
        assert.equal(r.status, 404, path);
        assert.match(r.type, /^application\/json/);
        assert.match(r.body.error, /unknown camera "nope"/);
        assert.deepEqual(r.body.cameras, ["front", "back"]);
      }
      const metrics = await (await fetch(`${d.url}/metrics`)).text();
      assert.match(metrics, /^detector_http_not_found_total\{route="camera"\} [3-9]$/m);
      assert.match(d.output(), /unknown camera/);
    });

    await t.step("unknown paths are 404 JSON, wrong methods 405 with Allow", async () => {
      const r = await json(`${d.url}/nothing/here`);
      assert.equal(r.status, 404);
      assert.match(r.body.error, /no route for \/nothing\/here/);
      const long = await json(`${d.url}/${"a".repeat(20_000)}`);
      assert.equal(long.status, 404);
      assert.ok(long.body.error.length < 400, `error of ${long.body.error.length} characters`);
      assert.match(long.body.error, /… \(20014 characters\)$/);
      const res = await fetch(`${d.url}/snapshot.jpg`, { method: "POST", body: "x" });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "GET");
      assert.match((await res.json()).error, /method POST not allowed/);
    });

    await t.step("escaped camera names in the path are decoded", async () => {
      // fetch would normalise the path, so the request line is written by hand.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(d.url).port) });
      try {
        await conn.write(
          new TextEncoder().encode(
            "GET /cameras/%66ront/snapshot.jpg HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
          ),
        );
        const buf = new Uint8Array(4096);
        const n = await conn.read(buf);
        const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
        assert.match(head, /^HTTP\/1\.1 200/);
        assert.match(head, /x-camera: front/);
      } finally {
        conn.close();
      }
    });

    await t.step("bad ?fps= values are a 400 naming the parameter", async () => {
      for (const q of ["abc", "0", "-3", "Infinity", ""]) {
        const res = await fetch(`${d.url}/cameras/front/stream.mjpg?fps=${q}`);
        assert.equal(res.status, 400, `fps=${q}`);
        const body = await res.json();
        assert.equal(body.parameter, "fps");
        assert.match(body.error, /query parameter fps=.*expected a number > 0/);
      }
      const parts = await readMjpegParts(`${d.url}/cameras/front/stream.mjpg?fps=100`, 2);
      assert.equal(parts.length, 2, "a rate above the target is capped, not refused");
    });
  } finally {
    const status = await d.stop();
    assert.equal(status.code, 0, d.output());
  }
});
