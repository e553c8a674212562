/**
 * WorkerDaemon in-process behind a real HTTP/WebSocket server, with a real scripted backend
 * client and real test-pattern readers; only the PipelineRunner is an in-test fake.
 */
import assert from "node:assert/strict";
import { FrameCache } from "../../src/core/frame_cache.ts";
import { walkJpeg } from "../../src/core/jpeg.ts";
import { Metrics } from "../../src/core/metrics.ts";
import { Router } from "../../src/http/router.ts";
import { startHttpServer } from "../../src/http/server.ts";
import type { PipelineArchive } from "../../src/mpta/types.ts";
import type { PipelineResult, PipelineRunner } from "../../src/pipeline/types.ts";
import { SharedReaders } from "../../src/sources/shared_readers.ts";
import type { PipelineLease } from "../../src/worker/pipeline_pool.ts";
import { WorkerDaemon, type WorkerSettings } from "../../src/worker/worker_daemon.ts";
import { type BackendClient, connectBackend, type Message } from "../harness/backend_client.ts";

const fakeRunner: PipelineRunner = {
  run: (): Promise<PipelineResult> =>
    Promise.resolve({
      detection: null,
      regions: {},
      branchResults: {},
      sessionId: null,
      timings: {},
    }),
  close: () => Promise.resolve(),
};

function sub(id: string, over: Record<string, unknown> = {}) {
  return {
    subscriptionIdentifier: id,
    rtspUrl: "testpattern:?fps=20&size=320x180",
    modelUrl: "/models/ok.mpta",
    modelId: 101,
    modelName: "Vehicle",
    ...over,
  };
}

interface World {
  url: string;
  daemon: WorkerDaemon;
  readers: SharedReaders;
  connect(): Promise<BackendClient>;
}

async function withWorker(settings: Partial<WorkerSettings>, fn: (w: World) => Promise<void>) {
  const cache = new FrameCache();
  const readers = new SharedReaders(cache);
  const daemon = new WorkerDaemon({
    cache,
    readers,
    pipelines: {
      acquire: (modelUrl: string): Promise<PipelineLease> =>
        modelUrl.includes("broken")
          ? Promise.reject(new Error(`modelUrl ${modelUrl}: HTTP 404 Not Found`))
          : Promise.resolve({
            runner: fakeRunner,
            archive: { hash: "h" } as PipelineArchive,
            release() {},
          }),
      closeAll: () => Promise.resolve(),
    },
    settings: { heartbeatMs: 300, graceMs: 60_000, maxStreams: 10, minIntervalMs: 0, ...settings },
    metrics: new Metrics(),
  });
  await daemon.start();
  const server = startHttpServer(new Router(new Metrics()).add(...daemon.routes()), "127.0.0.1", 0);
  const clients: BackendClient[] = [];
  try {
    await fn({
      url: server.url,
      daemon,
      readers,
      connect: async () => {
        const c = await connectBackend(server.url);
        clients.push(c);
        return c;
      },
    });
  } finally {
    for (const c of clients) await c.close();
    await daemon.stop();
    await server.shutdown();
  }
}

const isReport = (id: string) => (m: Message) =>
  m.type === "imageDetection" && m.subscriptionIdentifier === id;
const isState = (m: Message) => m.type === "stateReport";

Deno.test("stateReport on connect and every heartbeat; requestState answers at once", async () => {
  await withWorker({ heartbeatMs: 200 }, async ({ connect }) => {
    const backend = await connect();
    const first = await backend.waitFor(isState, "stateReport on connect", 2000);
    assert.equal(typeof first.cpuUsage, "number");
    assert.equal(typeof first.memoryUsage, "number");
    assert.equal(first.gpuUsage, null);
    assert.deepEqual(first.cameraConnections, []);
    await backend.waitForCount(isState, 3, "heartbeats", 3000);
    const mark = backend.received.length;
    backend.send({ type: "requestState" });
    await backend.waitFor(isState, "answer to requestState", 1000, mark);
  });
});

Deno.test("bad input gets error replies, the connection stays open, healthy reporting goes on", async () => {
  await withWorker({}, async ({ connect }) => {
    const backend = await connect();
    backend.send({
      type: "setSubscriptionList",
      subscriptions: [sub("d1;good"), sub("d2;broken", { modelUrl: "http://x/broken.mpta" })],
    });
    await backend.waitForCount(isReport("d1;good"), 3, "reports of the good subscription");
    await backend.waitFor(
      (m) => m.type === "error" && /d2;broken.*HTTP 404/.test(m.message),
      "model failure error",
    );
    const mark = backend.received.length;
    const bad: [string | Uint8Array, RegExp, string | null][] = [
      ["{nope", /not JSON/, null],
      ['{"type":"fly"}', /unknown message type "fly"/, "fly"],
      [
        '{"type":"subscribe","payload":{"rtspUrl":"rtsp://x","modelUrl":"/m","modelId":1}}',
        /subscriptionIdentifier/,
        "subscribe",
      ],
      [
        '{"type":"unsubscribe","payload":{"subscriptionIdentifier":"nosemicolon"}}',
        /exactly one ";"/,
        "unsubscribe",
      ],
      [
        JSON.stringify({ type: "requestState", pad: "x".repeat(1024 * 1024) }),
        /larger than the limit/,
        null,
      ],
      [new Uint8Array([1, 2, 3]), /binary frames/, null],
    ];
    for (const [data, _re] of bad) backend.sendRaw(data);
    const errors = await backend.waitForCount(
      (m) => m.type === "error",
      bad.length,
      "error replies",
      5000,
      mark,
    );
    bad.forEach(([, re, received], i) => {
      assert.match(errors[i].message, re);
      assert.equal(errors[i].received, received);
    });
    const after = backend.received.length;
    await backend.waitForCount(isReport("d1;good"), 3, "reports after the bad input", 5000, after);
    const state = await backend.waitFor(isState, "heartbeat", 2000, after);
    const conns = Object.fromEntries(
      state.cameraConnections.map((c: Message) => [c.subscriptionIdentifier, c.online]),
    );
    assert.deepEqual(conns, { "d1;good": true, "d2;broken": false });
  });
});

Deno.test("1000 messages a second: the worker keeps up and keeps reporting", async () => {
  await withWorker({}, async ({ connect }) => {
    const backend = await connect();
    backend.send({ type: "setSubscriptionList", subscriptions: [sub("d;c")] });
    await backend.waitFor(isReport("d;c"), "first report");
    for (let burst = 0; burst < 4; burst++) {
      for (let i = 0; i < 250; i++) {
        if (i % 3 === 0) backend.sendRaw("garbage");
        else if (i % 3 === 1) {
          backend.send({ type: "setSubscriptionList", subscriptions: [sub("d;c")] });
        } else {backend.send({
            type: "setSessionId",
            payload: { displayIdentifier: "d", sessionId: i },
          });}
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const mark = backend.received.length;
    await backend.waitForCount(isReport("d;c"), 5, "reports after the flood", 5000, mark);
    assert.ok(backend.ofType("error").length >= 300, "garbage was answered");
    assert.equal(backend.socket.readyState, WebSocket.OPEN);
  });
});

Deno.test("a newer backend takes over; the older is closed with 1008", async () => {
  await withWorker({}, async ({ connect, daemon }) => {
    const first = await connect();
    first.send({ type: "setSubscriptionList", subscriptions: [sub("d;c")] });
    await first.waitFor(isReport("d;c"), "report to the first backend");
    const runner = daemon.subscriptions.get("d;c");
    const second = await connect();
    const closed = await first.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /replaced by a newer backend connection/);
    await second.waitFor(isReport("d;c"), "reports now go to the second backend");
    assert.equal(daemon.subscriptions.get("d;c"), runner, "no restart on takeover");
  });
});

Deno.test("reconnect within the grace period: same list, no restart; after it, all stopped", async () => {
  await withWorker({ graceMs: 1500 }, async ({ connect, daemon, readers }) => {
    const first = await connect();
    const list = { type: "setSubscriptionList", subscriptions: [sub("d1;c"), sub("d2;c")] };
    first.send(list);
    await first.waitForCount(isReport("d2;c"), 2, "reports");
    const before = daemon.subscriptions.list();
    await first.close();
    const second = await connect();
    second.send(list);
    second.send({ type: "requestState" });
    const state = await second.waitFor(
      (m) => isState(m) && m.cameraConnections.length === 2,
      "state with both",
    );
    assert.deepEqual(state.cameraConnections.map((c: Message) => c.subscriptionIdentifier).sort(), [
      "d1;c",
      "d2;c",
    ]);
    assert.deepEqual(daemon.subscriptions.list(), before, "the same running objects: no restart");
    assert.equal(readers.size, 1, "two displays on one camera: one reader");
    await second.close();
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(daemon.subscriptions.size, 0, "stopped after the grace period");
    assert.equal(readers.size, 0);
  });
});

Deno.test("image API: cropped JPEG, percent-encoded identifier, 404 for unknown", async () => {
  await withWorker({}, async ({ connect, url }) => {
    const backend = await connect();
    backend.send({
      type: "subscribe",
      payload: sub("display-001;cam-001", { cropX1: 20, cropY1: 10, cropX2: 220, cropY2: 110 }),
    });
    await backend.waitFor(isReport("display-001;cam-001"), "a report");
    const res = await fetch(`${url}/camera/display-001%3Bcam-001/image`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    const info = walkJpeg(new Uint8Array(await res.arrayBuffer()));
    assert.ok(info !== "incomplete" && info.ok);
    assert.deepEqual([info.info.width, info.info.height], [200, 100]);
    const raw = await fetch(`${url}/camera/display-001;cam-001/image`);
    assert.equal(raw.status, 200);
    await raw.body?.cancel();
    const missing = await fetch(`${url}/camera/nobody%3Bnowhere/image`);
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).error, /unknown subscription "nobody;nowhere"/);
  });
});

Deno.test("max_streams: the excess gets an error reply naming it", async () => {
  await withWorker({ maxStreams: 1 }, async ({ connect, daemon }) => {
    const backend = await connect();
    backend.send({ type: "setSubscriptionList", subscriptions: [sub("d;a"), sub("d;b")] });
    const err = await backend.waitFor((m) => m.type === "error", "refusal");
    assert.match(err.message, /max_streams \(1\) reached: subscription "d;b" was not started/);
    assert.equal(err.received, "setSubscriptionList");
    assert.equal(daemon.subscriptions.size, 1);
  });
});
