import assert from "node:assert/strict";
import {
  CLOSE_POLICY,
  CLOSE_TOO_BIG,
  CLOSE_UNSUPPORTED,
  LENGTH_PREFIX_CEILING,
  type PushEvent,
  PushProtocolError,
  PushStreamParser,
} from "../../src/push/push_handshake.ts";
import { parseCameraId, pushToken, verifyPushToken } from "../../src/push/push_token.ts";
import { concat, framed, handshake, u32le } from "../harness/push_client.ts";

const jpeg = (n: number) => new Uint8Array([0xff, 0xd8, 0xff, 0xe0, n, 0xff, 0xd9]);

function feedAll(parser: PushStreamParser, messages: Uint8Array[]): PushEvent[] {
  return messages.flatMap((m) => parser.push(m));
}

function protocolError(fn: () => unknown): PushProtocolError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PushProtocolError, String(err));
    return err;
  }
  assert.fail("expected a PushProtocolError");
}

Deno.test("integers are little-endian, as Python int.to_bytes(4, 'little')", () => {
  const p = new PushStreamParser(1024);
  const ev = p.push(
    concat(new Uint8Array([0x78, 0x56, 0x34, 0x12, 2, 0, 0, 0]), Uint8Array.of(0x61, 0x62)),
  );
  assert.deepEqual(ev, [{ kind: "hello", cameraId: 0x12345678, token: "ab" }]);
});

Deno.test("the same events whatever the message boundaries", () => {
  const stream = concat(handshake(7, "tok"), framed(jpeg(1)), framed(jpeg(2)));
  const whole = feedAll(new PushStreamParser(1024), [stream]);
  const bytewise = feedAll(new PushStreamParser(1024), [...stream].map((b) => Uint8Array.of(b)));
  const odd = feedAll(new PushStreamParser(1024), [
    stream.subarray(0, 3),
    stream.subarray(3, 13),
    stream.subarray(13),
  ]);
  for (const events of [whole, bytewise, odd]) {
    assert.equal(events.length, 3);
    assert.deepEqual(events[0], { kind: "hello", cameraId: 7, token: "tok" });
    assert.deepEqual(events.slice(1).map((e) => e.kind === "frame" && [...e.jpeg]), [
      [...jpeg(1)],
      [...jpeg(2)],
    ]);
  }
});

Deno.test("a message starting FF D8 FF between frames is one whole JPEG", () => {
  const p = new PushStreamParser(1024);
  p.push(handshake(1, "t"));
  const [ev] = p.push(jpeg(9));
  assert.equal(ev.kind, "frame");
  assert.equal(ev.kind === "frame" && ev.framing, "whole-message");
  // Inside a length-prefixed frame the same bytes are body, not a new frame.
  p.push(u32le(7));
  const [body] = p.push(jpeg(3));
  assert.equal(body.kind === "frame" && body.framing, "length-prefixed");
  assert.equal(p.buffered, 0);
});

Deno.test("an oversized length is refused from its 4 bytes, before any body is held", () => {
  for (const claimed of [0xffffffff, 0x80000000, 1025]) {
    const p = new PushStreamParser(1024);
    p.push(handshake(1, "t"));
    const err = protocolError(() => p.push(u32le(claimed)));
    assert.equal(err.code, CLOSE_TOO_BIG);
    assert.equal(err.reason, "too_big");
    assert.ok(p.buffered <= 4, `held ${p.buffered} bytes`);
  }
  const p = new PushStreamParser(1024);
  p.push(handshake(1, "t"));
  assert.equal(
    protocolError(() => p.push(concat(jpeg(1), new Uint8Array(1100)))).code,
    CLOSE_TOO_BIG,
  );
});

Deno.test("the frame limit stays below lengths that would look like a JPEG start", () => {
  const p = new PushStreamParser(64 * 1024 * 1024);
  assert.equal(p.maxFrameBytes, LENGTH_PREFIX_CEILING);
  assert.ok(LENGTH_PREFIX_CEILING < 0x00ffd8ff);
});

Deno.test("token length 0 or over 1024 and non-UTF-8 tokens are policy violations", () => {
  for (const n of [0, 1025, 0xeeeeeeee]) {
    const err = protocolError(() => new PushStreamParser(1024).push(concat(u32le(1), u32le(n))));
    assert.equal(err.code, CLOSE_POLICY);
    assert.equal(err.reason, "bad_token_length");
  }
  const err = protocolError(() =>
    new PushStreamParser(1024).push(concat(u32le(1), u32le(2), Uint8Array.of(0xc3, 0x28)))
  );
  assert.equal(err.reason, "bad_token");
});

Deno.test("a zero frame length is refused as unsupported data", () => {
  const p = new PushStreamParser(1024);
  p.push(handshake(1, "t"));
  assert.equal(protocolError(() => p.push(u32le(0))).code, CLOSE_UNSUPPORTED);
});

Deno.test("midway reports unfinished handshakes and frames", () => {
  const p = new PushStreamParser(1024);
  assert.equal(p.midway, false);
  p.push(handshake(1, "t").subarray(0, 5));
  assert.equal(p.midway, true);
  p.push(handshake(1, "t").subarray(5));
  assert.equal(p.midway, false);
  p.push(framed(jpeg(1)).subarray(0, 6));
  assert.equal(p.midway, true);
});

Deno.test("tokens are hex HMAC-SHA256 of the decimal id and compared exactly", () => {
  const t = pushToken("secret", 7);
  assert.match(t, /^[0-9a-f]{64}$/);
  assert.ok(verifyPushToken("secret", 7, t));
  assert.ok(verifyPushToken("secret", 7, t.toUpperCase()), "hex case does not matter");
  assert.ok(!verifyPushToken("secret", 8, t));
  assert.ok(!verifyPushToken("other", 7, t));
  assert.ok(!verifyPushToken("secret", 7, t.slice(0, 63)));
  assert.equal(parseCameraId("4294967295"), 4294967295);
  assert.equal(parseCameraId("4294967296"), undefined);
  assert.equal(parseCameraId("-1"), undefined);
  assert.equal(parseCameraId("1e3"), undefined);
});
