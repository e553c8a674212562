import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readMjpegParts, readSseEvents } from "../../bench/lib/stream_clients.ts";
import { runDetector, startDetector } from "../harness/detector.ts";
import { noisyJpeg, solidJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually, spawnChild } from "../harness/process.ts";
import {
  closePeer,
  concat,
  framed,
  handshake,
  metrics,
  metricValue,
  openPush,
  u32le,
} from "../harness/push_client.ts";
import { camera, snapshot } from "./source_helpers.ts";

const SECRET = "push-test-secret";
const MAX_FRAME = 65_536;
const pythonClient = new URL("../clients/push_camera.py", import.meta.url).pathname;

/** Computed here independently of src/: hex HMAC-SHA256(secret, decimal id). */
function token(id: number, secret = SECRET): string {
  return createHmac("sha256", secret).update(String(id)).digest("hex");
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return !!a && a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

async function rejected(url: string, reason: string): Promise<number> {
  return metricValue(await metrics(url), "detector_push_rejected_total", { reason, via: "ws" });
}

async function status(url: string, path: string): Promise<number> {
  const res = await fetch(url + path);
  await res.body?.cancel();
  return res.status;
}

Deno.test("WebSocket push: handshake, both framings, Python client, refusals", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "push_ws_" });
  const det = await startDetector([
    "serve",
    "--source",
    "42=testpattern:?fps=1&size=64x48",
    "--max-frame-bytes",
    String(MAX_FRAME),
  ], { DETECTOR_PUSH_SECRET: SECRET });
  try {
    const red = await solidJpeg(64, 48, [250, 0, 0]);
    const green = await solidJpeg(64, 48, [0, 250, 0]);
    const noisy = await noisyJpeg(96, 64, 3);
    assert.ok(noisy.byteLength < MAX_FRAME);

    await t.step("handshake and frame sent one byte per message", async () => {
      const peer = await openPush(det.url);
      for (const b of concat(handshake(7, token(7)), framed(red))) peer.send(new Uint8Array([b]));
      await eventually(async () => sameBytes(await snapshot(det.url, "7"), red), "camera 7 frame");
      const cam = await camera(det.url, "7");
      assert.equal(cam.state, "push");
      assert.equal(cam.seq, 1);
      assert.deepEqual([cam.width, cam.height], [64, 48]);
      await closePeer(peer);
    });

    await t.step("handshake merged with frames, then a whole JPEG per message", async () => {
      const peer = await openPush(det.url);
      peer.send(concat(handshake(8, token(8)), framed(red), framed(noisy)));
      await eventually(async () => (await camera(det.url, "8")).seq === 2, "two frames of 8");
      assert.ok(sameBytes(await snapshot(det.url, "8"), noisy));
      peer.send(green);
      await eventually(async () => (await camera(det.url, "8")).seq === 3, "whole-message frame");
      assert.ok(sameBytes(await snapshot(det.url, "8"), green));
      // A length prefix split over two messages, its body in a third: still one frame.
      const f = framed(red);
      peer.send(f.subarray(0, 2));
      peer.send(f.subarray(2, 4));
      peer.send(f.subarray(4));
      await eventually(async () => (await camera(det.url, "8")).seq === 4, "split prefix frame");
      assert.ok(sameBytes(await snapshot(det.url, "8"), red));
      await closePeer(peer);
    });

    await t.step("pushed frames reach /stream.mjpg and ?images=1 SSE", async () => {
      const peer = await openPush(det.url);
      peer.send(handshake(9, token(9)));
      peer.send(framed(red));
      await eventually(async () => (await camera(det.url, "9")).seq === 1, "first frame of 9");
      const mjpeg = readMjpegParts(`${det.url}/cameras/9/stream.mjpg`, 2);
      const sse = readSseEvents(`${det.url}/cameras/9/events?images=1`, 2);
      await new Promise((r) => setTimeout(r, 300));
      peer.send(framed(noisy));
      const parts = await mjpeg;
      assert.ok(sameBytes(parts[0].body, red), "MJPEG part 1 is the latest frame on connect");
      assert.ok(sameBytes(parts[1].body, noisy), "MJPEG part 2 is the pushed frame");
      const events = await sse;
      assert.deepEqual(events.map((e) => e.event), ["image", "image"]);
      const last = JSON.parse(events[1].data);
      assert.equal(last.camera, "9");
      assert.equal(last.seq, 2);
      assert.ok(sameBytes(Uint8Array.fromBase64(last.image), noisy), "SSE carries the JPEG");
      const list = await (await fetch(`${det.url}/list`)).json();
      assert.ok(["7", "8", "9", "42"].every((n) => list.includes(n)), JSON.stringify(list));
      await closePeer(peer);
    });

    await t.step("Debian python3 client as in the seed (little-endian ids)", async () => {
      const a = `${tmp}/a.jpg`;
      const b = `${tmp}/b.jpg`;
      await Deno.writeFile(a, red);
      await Deno.writeFile(b, noisy);
      const ws = det.url.replace("http", "ws") + "/push";
      const run = async (...args: string[]) => {
        const child = spawnChild("/usr/bin/python3", [pythonClient, ws, ...args]);
        const st = await child.status;
        assert.equal(st.code, 0, child.output());
        return child.output();
      };
      // 305419896 = 0x12345678: a byte-order mix-up would name another camera and fail the token.
      const id = 305419896;
      const out = await run(String(id), token(id), a, b);
      assert.match(out, /sent 2/);
      assert.doesNotMatch(out, /closed 10\d\d/);
      await eventually(async () => (await camera(det.url, String(id))).seq === 2, "python frames");
      assert.ok(sameBytes(await snapshot(det.url, String(id)), noisy));
      const whole = await run(String(id), token(id), a, "--whole");
      assert.match(whole, /sent 1/);
      await eventually(async () => (await camera(det.url, String(id))).seq === 3, "whole frame");
      assert.ok(sameBytes(await snapshot(det.url, String(id)), red));
      // Handshake only: frames sent after a refusal can make the server's TCP stack reset the
      // connection before the close frame is read (the client then sees 1006).
      const wrong = await run("11", token(12));
      assert.match(wrong, /closed 1008 wrong token for camera 11/);
    });

    await t.step("wrong token: 1008, nothing cached, counted, token not logged", async () => {
      const before = await rejected(det.url, "bad_token");
      const peer = await openPush(det.url);
      const badToken = token(20, "another-secret");
      peer.send(concat(handshake(20, badToken), framed(red)));
      const closed = await peer.closed;
      assert.equal(closed.code, 1008);
      assert.match(closed.reason, /wrong token for camera 20/);
      assert.equal(await status(det.url, "/cameras/20/snapshot.jpg"), 404);
      assert.equal(await rejected(det.url, "bad_token"), before + 1);
      await det.waitFor(/push connection refused.*wrong token for camera 20/);
      assert.ok(!det.output().includes(badToken), "the token must not be logged");
      assert.ok(!det.output().includes(token(7)), "valid tokens must not be logged either");
    });

    await t.step("an id that names a --source camera is refused", async () => {
      const peer = await openPush(det.url);
      peer.send(handshake(42, token(42)));
      const closed = await peer.closed;
      assert.equal(closed.code, 1008);
      assert.match(closed.reason, /read from a --source/);
    });

    await t.step("oversized length prefix: 1009 at once, nothing allocated", async () => {
      for (const claimed of [0xffffffff, 0x7fffffff, MAX_FRAME + 1]) {
        const before = await rejected(det.url, "too_big");
        const peer = await openPush(det.url);
        peer.send(handshake(21, token(21)));
        // Only the 4 length bytes are sent: the refusal cannot depend on receiving the body.
        peer.send(u32le(claimed));
        const closed = await peer.closed;
        assert.equal(closed.code, 1009);
        assert.match(closed.reason, new RegExp(`frame length ${claimed} is over the limit`));
        assert.equal(await rejected(det.url, "too_big"), before + 1);
      }
      const big = concat(red, new Uint8Array(MAX_FRAME)); // starts FF D8 FF: a whole message
      const peer = await openPush(det.url);
      peer.send(handshake(21, token(21)));
      peer.send(big);
      assert.equal((await peer.closed).code, 1009);
      assert.equal(await status(det.url, "/cameras/21/snapshot.jpg"), 404);
      assert.equal(await status(det.url, "/healthz"), 200);
    });

    await t.step(
      "truncated frame then close: the partial frame never enters the cache",
      async () => {
        const before = await rejected(det.url, "truncated_frame");
        const peer = await openPush(det.url);
        peer.send(concat(handshake(22, token(22)), framed(red)));
        await eventually(async () => (await camera(det.url, "22")).seq === 1, "frame of 22");
        const f = framed(noisy);
        peer.send(f.subarray(0, f.byteLength - 100));
        await new Promise((r) => setTimeout(r, 200));
        await closePeer(peer);
        await eventually(
          async () => await rejected(det.url, "truncated_frame") === before + 1,
          "truncated frame counted",
        );
        const cam = await camera(det.url, "22");
        assert.equal(cam.seq, 1, "no second frame");
        assert.ok(sameBytes(await snapshot(det.url, "22"), red));
        await det.waitFor(/partial bytes dropped.*camera=22/);
      },
    );

    await t.step("binary garbage: refused with a close code, never cached", async () => {
      // After the handshake: length 5, then 5 bytes that are no JPEG.
      const p1 = await openPush(det.url);
      p1.send(handshake(23, token(23)));
      p1.send(new Uint8Array([5, 0, 0, 0, 1, 2, 3, 4, 5]));
      const c1 = await p1.closed;
      assert.equal(c1.code, 1003);
      assert.match(c1.reason, /not a complete JPEG/);
      // A whole-message JPEG that is cut short.
      const p2 = await openPush(det.url);
      p2.send(handshake(23, token(23)));
      p2.send(noisy.subarray(0, noisy.byteLength / 2));
      assert.equal((await p2.closed).code, 1003);
      // Garbage instead of a handshake: the token length is absurd.
      const p3 = await openPush(det.url);
      const junk = new Uint8Array(64).fill(0xee);
      p3.send(junk);
      const c3 = await p3.closed;
      assert.equal(c3.code, 1008);
      assert.match(c3.reason, /token length \d+ is outside/);
      // A text message after the handshake.
      const p4 = await openPush(det.url);
      p4.send(handshake(23, token(23)));
      p4.send("hello");
      assert.equal((await p4.closed).code, 1003);
      assert.equal(await status(det.url, "/cameras/23/snapshot.jpg"), 404);
      assert.ok(await rejected(det.url, "not_jpeg") >= 2);
      assert.ok(await rejected(det.url, "bad_token_length") >= 1);
      assert.ok(await rejected(det.url, "text_message") >= 1);
      assert.equal(await status(det.url, "/healthz"), 200);
    });

    await t.step("a handshake cut short is counted", async () => {
      const before = await rejected(det.url, "truncated_handshake");
      const peer = await openPush(det.url);
      peer.send(handshake(24, token(24)).subarray(0, 6));
      await new Promise((r) => setTimeout(r, 100));
      await closePeer(peer);
      await eventually(
        async () => await rejected(det.url, "truncated_handshake") === before + 1,
        "truncated handshake counted",
      );
    });

    await t.step("`detector token` prints the same token", async () => {
      const child = runDetector(["token", "305419896"], { DETECTOR_PUSH_SECRET: SECRET });
      assert.equal((await child.status).code, 0);
      assert.equal(child.output().trim().split("\n").at(-1), token(305419896));
      const flag = runDetector(["token", "7", "--push-secret", "other"]);
      await flag.status;
      assert.ok(flag.output().includes(token(7, "other")));
      const none = runDetector(["token", "7"], { DETECTOR_PUSH_SECRET: "" });
      assert.equal((await none.status).code, 2);
      assert.match(none.output(), /no secret/);
      const bad = runDetector(["token", "-1"], { DETECTOR_PUSH_SECRET: SECRET });
      assert.equal((await bad.status).code, 2);
    });

    assert.ok(det.output().includes("WebSocket push on at /push"));
  } finally {
    await det.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("WebSocket push without a secret is disabled and says so", async () => {
  const det = await startDetector(["serve", "--upload-token", "u"], { DETECTOR_PUSH_SECRET: "" });
  try {
    assert.match(det.output(), /WebSocket push disabled: no --push-secret/);
    const res = await fetch(`${det.url}/push`, {
      headers: { upgrade: "websocket", connection: "upgrade" },
    });
    assert.equal(res.status, 503);
    assert.match((await res.json()).error, /push is disabled.*--push-secret/);
    await assert.rejects(openPush(det.url));
    const text = await metrics(det.url);
    assert.ok(
      metricValue(text, "detector_push_rejected_total", { reason: "disabled", via: "ws" }) >= 2,
    );
  } finally {
    await det.stop();
  }
});
