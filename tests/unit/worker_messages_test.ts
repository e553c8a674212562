import assert from "node:assert/strict";
import { remoteSchemes, sourceKindOf } from "../../src/sources/registry.ts";
import { readerSpec } from "../../src/sources/shared_readers.ts";
import { MAX_FRAME_BYTES, parseMessage } from "../../src/worker/messages.ts";

const sub = (over: Record<string, unknown> = {}) => ({
  subscriptionIdentifier: "display-001;cam-001",
  rtspUrl: "rtsp://user:pw@10.0.0.5/stream",
  modelUrl: "http://models.local/vehicle.mpta",
  modelId: 101,
  modelName: "Vehicle",
  cropX1: 100,
  cropY1: 200,
  cropX2: 300,
  cropY2: 400,
  ...over,
});

function refused(data: unknown, pattern: RegExp, received: string | null) {
  const r = parseMessage(typeof data === "string" ? data : JSON.stringify(data));
  assert.equal(r.ok, false, `expected refusal of ${JSON.stringify(data)}`);
  if (r.ok) return;
  assert.match(r.error, pattern);
  assert.equal(r.received, received);
}

Deno.test("setSubscriptionList: a full subscription is read with every field", () => {
  const r = parseMessage(JSON.stringify({ type: "setSubscriptionList", subscriptions: [sub()] }));
  assert.ok(r.ok);
  assert.equal(r.message.type, "setSubscriptionList");
  if (r.message.type !== "setSubscriptionList") return;
  assert.deepEqual(r.message.rejected, []);
  assert.deepEqual(r.message.subscriptions[0], {
    subscriptionIdentifier: "display-001;cam-001",
    displayId: "display-001",
    cameraId: "cam-001",
    rtspUrl: "rtsp://user:pw@10.0.0.5/stream",
    modelUrl: "http://models.local/vehicle.mpta",
    modelId: 101,
    modelName: "Vehicle",
    crop: { x1: 100, y1: 200, x2: 300, y2: 400 },
  });
});

Deno.test("setSubscriptionList: bad entries are refused by index, good ones kept", () => {
  const r = parseMessage(JSON.stringify({
    type: "setSubscriptionList",
    subscriptions: [
      sub({ subscriptionIdentifier: "d1;c1" }),
      sub({ subscriptionIdentifier: undefined }),
      sub({ subscriptionIdentifier: "no-semicolon" }),
      sub({ subscriptionIdentifier: "a;b;c" }),
      sub({ subscriptionIdentifier: ";cam" }),
      sub({ subscriptionIdentifier: "d2;c2", modelId: "101" }),
      sub({ subscriptionIdentifier: "d3;c3", rtspUrl: undefined }),
      sub({ subscriptionIdentifier: "d4;c4", cropX2: undefined }),
      sub({ subscriptionIdentifier: "d5;c5", cropX2: 50 }),
      sub({ subscriptionIdentifier: "d6;c6", rtspUrl: "file:///etc/passwd" }),
      sub({ subscriptionIdentifier: "d1;c1" }),
      sub({ subscriptionIdentifier: "d7;c7", modelUrl: undefined }),
      "not an object",
    ],
  }));
  assert.ok(r.ok);
  if (r.message.type !== "setSubscriptionList") throw new Error("wrong type");
  assert.deepEqual(r.message.subscriptions.map((s) => s.subscriptionIdentifier), ["d1;c1"]);
  const rej = r.message.rejected;
  assert.equal(rej.length, 12);
  assert.match(rej[0], /missing field "subscriptions\[1\]\.subscriptionIdentifier"/);
  assert.match(rej[1], /subscriptions\[2\]\.subscriptionIdentifier.*exactly one ";"/);
  assert.match(rej[2], /subscriptions\[3\]\.subscriptionIdentifier.*exactly one ";"/);
  assert.match(rej[3], /both parts non-empty/);
  assert.match(rej[4], /subscriptions\[5\]\.modelId" must be an integer/);
  assert.match(rej[5], /needs "rtspUrl" or "snapshotUrl"/);
  assert.match(rej[6], /missing "subscriptions\[7\]\.cropX2"/);
  assert.match(rej[7], /cropX2" \(50\) must be greater than cropX1 \(100\)/);
  assert.match(rej[8], /rtspUrl" has scheme "file:"/);
  assert.match(rej[9], /"d1;c1" is listed twice/);
  assert.match(rej[10], /missing field "subscriptions\[11\]\.modelUrl"/);
  assert.match(rej[11], /"subscriptions\[12\]" must be an object/);
});

Deno.test("snapshot subscriptions need an interval; local model paths are accepted", () => {
  const ok = parseMessage(JSON.stringify({
    type: "subscribe",
    payload: sub({
      rtspUrl: undefined,
      snapshotUrl: "http://cam/snap.jpg",
      snapshotInterval: 5000,
      modelUrl: "/srv/models/vehicle.mpta",
    }),
  }));
  assert.ok(ok.ok);
  if (ok.message.type !== "subscribe") throw new Error("wrong type");
  assert.equal(ok.message.subscription.snapshotInterval, 5000);
  assert.equal(ok.message.subscription.modelUrl, "/srv/models/vehicle.mpta");
  refused(
    { type: "subscribe", payload: sub({ rtspUrl: undefined, snapshotUrl: "http://cam/snap.jpg" }) },
    /payload\.snapshotInterval" \(ms\) is required/,
    "subscribe",
  );
  refused(
    { type: "subscribe", payload: sub({ modelUrl: "ftp://x/y.mpta" }) },
    /payload\.modelUrl" has scheme "ftp:"/,
    "subscribe",
  );
});

Deno.test("bad frames: not JSON, no type, unknown type, wrong shapes, too large, binary", () => {
  refused("{not json", /^not JSON/, null);
  refused("[1,2]", /expected a JSON object, got an array/, null);
  refused({ payload: {} }, /missing field "type"/, null);
  refused({ type: 5 }, /field "type" must be a string/, null);
  refused(
    { type: "launchRockets" },
    /unknown message type "launchRockets"; known: set/,
    "launchRockets",
  );
  refused({ type: "setSubscriptionList" }, /missing field "subscriptions"/, "setSubscriptionList");
  refused(
    { type: "setSubscriptionList", subscriptions: {} },
    /"subscriptions" must be an array/,
    "setSubscriptionList",
  );
  refused({ type: "subscribe" }, /missing field "payload"/, "subscribe");
  refused({ type: "unsubscribe", payload: {} }, /payload\.subscriptionIdentifier/, "unsubscribe");
  refused(
    { type: "unsubscribe", payload: { subscriptionIdentifier: "nosemicolon" } },
    /exactly one ";"/,
    "unsubscribe",
  );
  refused({ type: "setSessionId", payload: { sessionId: 1 } }, /displayIdentifier/, "setSessionId");
  refused(
    { type: "setSessionId", payload: { displayIdentifier: "d" } },
    /missing field "payload.sessionId"/,
    "setSessionId",
  );
  refused(
    { type: "setSessionId", payload: { displayIdentifier: "d", sessionId: { a: 1 } } },
    /sessionId" must be an integer, a string or null/,
    "setSessionId",
  );
  refused(
    { type: "patchSessionResult", payload: { sessionId: 1 } },
    /payload.success/,
    "patchSessionResult",
  );
  const big = JSON.stringify({ type: "requestState", pad: "x".repeat(MAX_FRAME_BYTES) });
  refused(big, /larger than the limit of 1048576 bytes/, null);
  const r = parseMessage(new Uint8Array([1, 2, 3]));
  assert.ok(!r.ok);
  if (!r.ok) assert.match(r.error, /binary frames are not accepted/);
});

Deno.test("multi-byte text is measured in UTF-8 bytes against the limit", () => {
  const snowmen = "☃".repeat(Math.ceil(MAX_FRAME_BYTES / 3) + 10); // under 1 Mi chars, over 1 MiB
  refused(JSON.stringify({ type: "requestState", pad: snowmen }), /larger than the limit/, null);
});

Deno.test("the small messages", () => {
  const rs = parseMessage('{"type":"requestState"}');
  assert.deepEqual(rs, { ok: true, message: { type: "requestState" } });
  const set = parseMessage(
    '{"type":"setSessionId","payload":{"displayIdentifier":"display-001","sessionId":12345}}',
  );
  assert.deepEqual(set, {
    ok: true,
    message: { type: "setSessionId", displayIdentifier: "display-001", sessionId: 12345 },
  });
  const clear = parseMessage(
    '{"type":"setSessionId","payload":{"displayIdentifier":"display-001","sessionId":null}}',
  );
  assert.ok(clear.ok && clear.message.type === "setSessionId" && clear.message.sessionId === null);
  const res = parseMessage(
    '{"type":"patchSessionResult","payload":{"sessionId":12345,"success":false,"message":"no"}}',
  );
  assert.deepEqual(res, {
    ok: true,
    message: { type: "patchSessionResult", sessionId: 12345, success: false, message: "no" },
  });
  const unsub = parseMessage(
    '{"type":"unsubscribe","payload":{"subscriptionIdentifier":"display-001;cam-001"}}',
  );
  assert.deepEqual(unsub, {
    ok: true,
    message: { type: "unsubscribe", subscriptionIdentifier: "display-001;cam-001" },
  });
});

Deno.test("rtspUrl schemes are the source registry's remote kinds; local inputs are refused", () => {
  const schemes = remoteSchemes();
  for (const s of ["rtsp:", "rtsps:", "rtmp:", "rtmps:", "srt:", "udp:", "http:", "tcp:"]) {
    assert.ok(schemes.includes(s), `${s} in ${schemes}`);
  }
  for (const scheme of schemes) {
    const url = scheme === "testpattern:" ? "testpattern:?fps=2" : `${scheme}//10.0.0.5:9000/cam`;
    const r = parseMessage(JSON.stringify({ type: "subscribe", payload: sub({ rtspUrl: url }) }));
    assert.ok(r.ok, `${url}: ${!r.ok && r.error}`);
    // what the worker accepts, a source kind reads
    assert.ok(sourceKindOf(readerSpec(url)), url);
  }
  for (const url of ["ffmpeg:rtsp://cam/x", "file:///etc/passwd", "dir:/srv/frames", "ftp://h/x"]) {
    refused(
      { type: "subscribe", payload: sub({ rtspUrl: url }) },
      /"payload\.rtspUrl" has scheme "[a-z]+:"; allowed: .*rtmp:.*udp:/,
      "subscribe",
    );
  }
});
