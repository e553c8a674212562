import assert from "node:assert/strict";
import { FrameCache } from "../../src/core/frame_cache.ts";
import type { Frame } from "../../src/core/frame.ts";
import { FrameFanout } from "../../src/http/frame_fanout.ts";
import { partOf } from "../../src/http/mjpeg_stream.ts";

const jpeg = (n: number) => new Uint8Array([0xff, 0xd8, n, 0xff, 0xd9]);

Deno.test("a consumer that is not ready skips to the newest frame, never a backlog", () => {
  const cache = new FrameCache();
  const fanout = new FrameFanout(cache);
  const got: [number, number][] = [];
  const sub = fanout.subscribe("cam", 1e9, (f, skipped) => got.push([f.seq, skipped]));
  cache.put("cam", jpeg(1));
  assert.deepEqual(got, [], "nothing is pushed before the consumer asks");
  sub.want();
  assert.deepEqual(got, [[1, 0]], "the newest frame is sent at once when asked");
  for (let i = 2; i <= 10; i++) cache.put("cam", jpeg(i));
  assert.equal(got.length, 1, "frames arriving while busy are not queued");
  sub.want();
  assert.deepEqual(got[1], [10, 8], "the next one is the newest, 8 skipped");
  sub.close();
});

Deno.test("a waiting consumer gets each frame on arrival", () => {
  const cache = new FrameCache();
  const fanout = new FrameFanout(cache);
  const got: number[] = [];
  const sub = fanout.subscribe("cam", 1e9, (f) => got.push(f.seq));
  sub.want();
  assert.deepEqual(got, [], "no frame yet: it waits");
  cache.put("cam", jpeg(1));
  assert.deepEqual(got, [1]);
  cache.put("other", jpeg(1));
  assert.deepEqual(got, [1], "other cameras do not wake it");
  sub.close();
  sub.want();
  cache.put("cam", jpeg(2));
  assert.deepEqual(got, [1], "closed subscribers get nothing");
  assert.equal(fanout.subscribers(), 0);
});

Deno.test("the fps cap delays the next frame and then sends the newest", async () => {
  const cache = new FrameCache();
  const fanout = new FrameFanout(cache);
  const got: number[] = [];
  let resolve!: () => void;
  const second = new Promise<void>((r) => resolve = r);
  const sub = fanout.subscribe("cam", 10, (f) => {
    got.push(f.seq);
    if (got.length === 2) resolve();
  });
  sub.want();
  cache.put("cam", jpeg(1));
  sub.want();
  cache.put("cam", jpeg(2));
  cache.put("cam", jpeg(3));
  assert.deepEqual(got, [1], "within 100 ms of the first, the cap holds the next back");
  await second;
  assert.deepEqual(got, [1, 3], "after the gap the newest frame goes out");
  sub.close();
});

Deno.test("many subscribers share one part per frame", () => {
  const cache = new FrameCache();
  const fanout = new FrameFanout(cache);
  const seen = new Set<Uint8Array>();
  const subs = Array.from(
    { length: 50 },
    () => fanout.subscribe("cam", 1e9, (f: Frame) => seen.add(partOf(f))),
  );
  for (const s of subs) s.want();
  cache.put("cam", jpeg(7));
  assert.equal(seen.size, 1, "one part object for all 50 clients");
  const [part] = seen;
  const text = new TextDecoder().decode(part);
  assert.match(text, /^Content-Type: image\/jpeg\r\nContent-Length: 5\r\n/);
  const tail = [...new TextEncoder().encode("\r\n--frame\r\n")];
  assert.deepEqual(
    [...part.subarray(part.length - 5 - tail.length)],
    [0xff, 0xd8, 7, 0xff, 0xd9, ...tail],
    "the JPEG is followed by the next boundary, so browsers draw it at once",
  );
  assert.equal(fanout.subscribers("cam"), 50);
  for (const s of subs) s.close();
  assert.equal(fanout.subscribers(), 0);
});
