import assert from "node:assert/strict";
import { FrameCache } from "../../src/core/frame_cache.ts";
import { FrameFanout } from "../../src/http/frame_fanout.ts";
import { frameStream } from "../../src/http/frame_stream.ts";

const jpeg = (n: number) => new Uint8Array([0xff, 0xd8, n, 0xff, 0xd9]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function subscriber(fanout: FrameFanout, fps: number, repeatIdle = true) {
  const got: string[] = [];
  const sub = fanout.subscribe("cam", fps, (f, _skipped, repeated) => {
    got.push(`${f.seq}${repeated ? "r" : ""}`);
  }, repeatIdle);
  return { sub, got };
}

Deno.test("an idle frame is sent once more to a waiting subscriber, once", async () => {
  const cache = new FrameCache();
  const fanout = new FrameFanout(cache, { repeatAfterMs: 40 });
  const { sub, got } = subscriber(fanout, 1000);
  const sse = subscriber(fanout, 1000, false);
  sub.want();
  sse.sub.want();
  cache.put("cam", jpeg(1));
  sub.want();
  sse.sub.want();
  assert.deepEqual(got, ["1"]);
  await sleep(80);
  assert.deepEqual(got, ["1", "1r"], "repeated when the camera went idle");
  sub.want();
  await sleep(80);
  assert.deepEqual(got, ["1", "1r"], "not again");
  assert.deepEqual(sse.got, ["1"], "subscribers that did not ask get no repeats");
  cache.put("cam", jpeg(2));
  assert.deepEqual(got, ["1", "1r", "2"]);
  sub.close();
  sse.sub.close();
});

Deno.test("a subscriber that joins after the camera went idle gets the frame twice at once", () => {
  const cache = new FrameCache();
  cache.put("cam", jpeg(1), { at: Date.now() - 1000 });
  const fanout = new FrameFanout(cache, { repeatAfterMs: 40 });
  const { sub, got } = subscriber(fanout, 1000);
  sub.want();
  sub.want();
  assert.deepEqual(got, ["1", "1r"]);
  sub.close();
});

Deno.test("a subscriber that joins a fresh frame gets its repeat when it turns idle", async () => {
  const cache = new FrameCache();
  cache.put("cam", jpeg(1));
  const fanout = new FrameFanout(cache, { repeatAfterMs: 60 });
  const { sub, got } = subscriber(fanout, 1000);
  sub.want();
  sub.want();
  assert.deepEqual(got, ["1"], "not yet idle");
  await sleep(120);
  assert.deepEqual(got, ["1", "1r"]);
  sub.close();
});

Deno.test("no repeat while the rate cap, not the camera, holds the next frame back", async () => {
  const cache = new FrameCache();
  const fanout = new FrameFanout(cache, { repeatAfterMs: 20 });
  const { sub, got } = subscriber(fanout, 10);
  sub.want();
  cache.put("cam", jpeg(1));
  sub.want();
  cache.put("cam", jpeg(2));
  await sleep(150);
  assert.deepEqual(got, ["1", "2"], "after the 100 ms gap the newer frame, not frame 1 again");
  sub.close();
});

Deno.test("frameStream: the repeat goes out as the same bytes", async () => {
  const cache = new FrameCache();
  cache.put("cam", jpeg(1));
  const stop = new AbortController();
  const repeats: number[] = [];
  const body = frameStream(cache, "cam", 30, [stop.signal], {
    encode: (f) => new Uint8Array([f.seq]),
    repeatIdle: true,
    onRepeat: (f) => repeats.push(f.seq),
  });
  const reader = body.getReader();
  assert.deepEqual((await reader.read()).value, new Uint8Array([1]));
  assert.deepEqual((await reader.read()).value, new Uint8Array([1]));
  assert.deepEqual(repeats, [1]);
  stop.abort();
  assert.equal((await reader.read()).done, true);
});
