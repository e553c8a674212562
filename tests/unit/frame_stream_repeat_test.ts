import assert from "node:assert/strict";
import { FrameCache } from "../../src/core/frame_cache.ts";
import { frameStream } from "../../src/http/frame_stream.ts";

const jpeg = (n: number) => new Uint8Array([0xff, 0xd8, n, 0xff, 0xd9]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function open(cache: FrameCache, fps: number) {
  const stop = new AbortController();
  const repeats: number[] = [];
  const body = frameStream(cache, "cam", fps, [stop.signal], {
    encode: (f) => new Uint8Array([f.seq]),
    repeat: { afterMs: 50, onRepeat: (f) => repeats.push(f.seq) },
  });
  const reader = body.getReader();
  const read = async () => (await reader.read()).value![0];
  return { read, repeats, stop: () => stop.abort() };
}

Deno.test("a frame nothing newer followed is sent once more, once", async () => {
  const cache = new FrameCache();
  cache.put("cam", jpeg(1));
  const s = open(cache, 1000);
  assert.equal(await s.read(), 1);
  assert.equal(await s.read(), 1, "repeated while the client waits and no newer frame came");
  const next = s.read();
  await sleep(200);
  assert.deepEqual(s.repeats, [1], "not repeated again");
  cache.put("cam", jpeg(2));
  assert.equal(await next, 2);
  s.stop();
});

Deno.test("no repeat when the rate cap, not the camera, holds the next frame back", async () => {
  const cache = new FrameCache();
  cache.put("cam", jpeg(1));
  const s = open(cache, 5);
  assert.equal(await s.read(), 1);
  cache.put("cam", jpeg(2));
  assert.equal(await s.read(), 2, "after the 200 ms gap the newer frame, not frame 1 again");
  assert.deepEqual(s.repeats, []);
  s.stop();
});
