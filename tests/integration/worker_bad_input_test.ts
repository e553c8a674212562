/**
 * Hostile backend input against `main.ts run`: every bad message gets an `error` reply, the
 * connection stays open, failing models only take their own subscription offline, and the healthy
 * subscription keeps reporting through a flood of 1000 messages per second.
 */
import assert from "node:assert/strict";
import { connectBackend, type Message } from "../harness/backend_client.ts";
import { startDetector } from "../harness/detector.ts";
import { serveFiles } from "../harness/http_files.ts";
import { startRtspServer } from "../harness/rtsp_server.ts";
import { carSceneVideo, vehicleArchive } from "../harness/worker_fixtures.ts";

const LONG = 45_000;

Deno.test({
  name: "worker: bad input is answered and counted; healthy subscriptions keep reporting",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const rtsp = await startRtspServer({ file: await carSceneVideo() });
    const archive = vehicleArchive({ databases: false });
    const files = serveFiles({ "/vehicle.mpta": archive, "/login.mpta": archive });
    files.mode("/login.mpta", "html");
    const detector = await startDetector([
      "run",
      "--host",
      "127.0.0.1",
      "--model-dir",
      `${dir}/models`,
      "--spool-dir",
      `${dir}/spool`,
      "--model-timeout",
      "2s",
    ]);
    const backend = await connectBackend(detector.url);
    try {
      const sub = (id: string, modelUrl: string) => ({
        subscriptionIdentifier: id,
        rtspUrl: rtsp.url,
        modelUrl,
        modelId: id.length,
        modelName: "Vehicle",
      });
      const healthy = sub("good;cam", files.url("/vehicle.mpta"));
      const list = [
        healthy,
        sub("unreachable;cam", "http://127.0.0.1:1/vehicle.mpta"),
        sub("html;cam", files.url("/login.mpta")),
      ];
      backend.send({ type: "setSubscriptionList", subscriptions: list });
      const isGood = (m: Message) =>
        m.type === "imageDetection" && m.subscriptionIdentifier === "good;cam";
      await backend.waitForCount(isGood, 2, "reports of the healthy subscription", LONG);
      const isError = (re: RegExp) => (m: Message) => m.type === "error" && re.test(m.message);
      await backend.waitFor(
        isError(/"unreachable;cam".*modelUrl http:\/\/127\.0\.0\.1:1\/vehicle\.mpta/),
        "unreachable model reported",
        LONG,
      );
      await backend.waitFor(
        isError(/"html;cam".*did not return an \.mpta \(ZIP\) archive but an HTML page/),
        "HTML model reported",
        LONG,
      );

      const mark = backend.received.length;
      const bad: [string, RegExp, string | null][] = [
        ["this is not json", /^not JSON/, null],
        ['{"type":"beamMeUp"}', /unknown message type "beamMeUp"/, "beamMeUp"],
        [
          JSON.stringify({
            type: "subscribe",
            payload: { ...healthy, subscriptionIdentifier: undefined },
          }),
          /missing field "payload.subscriptionIdentifier"/,
          "subscribe",
        ],
        [
          JSON.stringify({
            type: "setSubscriptionList",
            subscriptions: [healthy, { ...healthy, subscriptionIdentifier: "nosemicolon" }],
          }),
          /subscriptions\[1\]\.subscriptionIdentifier.*exactly one ";"/,
          "setSubscriptionList",
        ],
        [
          JSON.stringify({ type: "requestState", padding: "x".repeat(1024 * 1024 + 10) }),
          /larger than the limit of 1048576 bytes/,
          null,
        ],
      ];
      for (const [text] of bad) backend.sendRaw(text);
      const errors = await backend.waitForCount(
        (m) => m.type === "error",
        bad.length,
        "one error per bad message",
        LONG,
        mark,
      );
      bad.forEach(([, re, received], i) => {
        assert.match(errors[i].message, re);
        assert.equal(errors[i].received, received);
      });

      // 1000 messages per second for 3 seconds, mixed valid and invalid
      for (let second = 0; second < 3; second++) {
        const started = performance.now();
        for (let i = 0; i < 1000; i++) {
          if (i % 4 === 0) backend.sendRaw(`{"type":"flood","n":${i}}`);
          else if (i % 4 === 1) backend.sendRaw("}{");
          else if (i % 4 === 2) backend.send({ type: "setSubscriptionList", subscriptions: list });
          else {backend.send({
              type: "setSessionId",
              payload: { displayIdentifier: "x", sessionId: i },
            });}
          if (i % 100 === 99) await new Promise((r) => setTimeout(r, 0));
        }
        const rest = 1000 - (performance.now() - started);
        if (rest > 0) await new Promise((r) => setTimeout(r, rest));
      }
      const afterFlood = backend.received.length;
      await backend.waitForCount(isGood, 3, "healthy reports after the flood", LONG, afterFlood);
      assert.equal(backend.socket.readyState, WebSocket.OPEN, "the connection stayed open");

      backend.send({ type: "requestState" });
      const state = await backend.waitFor(
        (m) => m.type === "stateReport",
        "stateReport",
        LONG,
        backend.received.length,
      );
      const online = Object.fromEntries(
        state.cameraConnections.map((c: Message) => [c.subscriptionIdentifier, c.online]),
      );
      assert.deepEqual(online, { "good;cam": true, "unreachable;cam": false, "html;cam": false });

      const metrics = await (await fetch(`${detector.url}/metrics`)).text();
      const count = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? 0);
      assert.ok(count(/detector_worker_bad_messages_total\{type="none"\} (\d+)/) >= 750);
      assert.ok(count(/detector_worker_bad_messages_total\{type="flood"\} (\d+)/) >= 750);
      assert.ok(
        count(/detector_worker_model_load_failures_total\{subscription="html;cam"\} (\d+)/) >= 1,
      );
      const health = await fetch(`${detector.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, "ok");
      assert.match(detector.output(), /refused a backend message/);
    } finally {
      await backend.close();
      const status = await detector.stop(10_000);
      await rtsp.stop();
      await files.close();
      await Deno.remove(dir, { recursive: true });
      assert.equal(status.code, 0);
    }
  },
});
