import assert from "node:assert/strict";
import { AbortedError, FrameCache } from "../../src/core/frame_cache.ts";

const bytes = (n: number) => new Uint8Array([0xff, 0xd8, n, 0xff, 0xd9]);

Deno.test("latest returns nothing before the first frame, then the newest", () => {
  const cache = new FrameCache();
  assert.equal(cache.latest("a"), undefined);
  cache.put("a", bytes(1));
  cache.put("a", bytes(2));
  assert.equal(cache.latest("a")?.seq, 2);
  assert.equal(cache.latest("a")?.jpeg[2], 2);
});

Deno.test("frames are immutable", () => {
  const cache = new FrameCache();
  const f = cache.put("a", bytes(1));
  assert.throws(() => {
    (f as { seq: number }).seq = 5;
  });
});

Deno.test("seq grows by one per camera, independently", () => {
  const cache = new FrameCache();
  const seqs: Record<string, number[]> = { a: [], b: [] };
  for (let i = 0; i < 50; i++) {
    const cam = i % 3 === 0 ? "b" : "a";
    seqs[cam].push(cache.put(cam, bytes(i)).seq);
  }
  for (const list of Object.values(seqs)) {
    list.forEach((s, i) => assert.equal(s, i + 1));
  }
});

Deno.test("a slow consumer skips to the newest frame, never a backlog", async () => {
  const cache = new FrameCache();
  for (let i = 1; i <= 10; i++) cache.put("a", bytes(i));
  const got = await cache.next("a", 1);
  assert.equal(got.seq, 10, "next after seq 1 must be the latest, not seq 2");
  const pending = cache.next("a", 10);
  for (let i = 11; i <= 20; i++) cache.put("a", bytes(i));
  assert.equal((await pending).seq, 11, "a waiter gets the first frame after it began waiting");
  assert.equal((await cache.next("a", 11)).seq, 20);
});

Deno.test("many concurrent waiters all wake on one put with the same frame", async () => {
  const cache = new FrameCache();
  cache.put("a", bytes(0));
  const waiters = Array.from({ length: 1000 }, () => cache.next("a", 1));
  assert.equal(cache.stats("a")?.waiters, 1000);
  const frame = cache.put("a", bytes(1));
  const results = await Promise.all(waiters);
  assert.ok(results.every((f) => f === frame));
  assert.equal(cache.stats("a")?.waiters, 0);
});

Deno.test("abort rejects only the aborted waiter and releases it", async () => {
  const cache = new FrameCache();
  const ac = new AbortController();
  const aborted = cache.next("a", 0, ac.signal);
  const other = cache.next("a", 0, new AbortController().signal);
  assert.equal(cache.stats("a")?.waiters, 2);
  ac.abort();
  await assert.rejects(aborted, AbortedError);
  assert.equal(cache.stats("a")?.waiters, 1);
  cache.put("a", bytes(1));
  assert.equal((await other).seq, 1);
  await assert.rejects(cache.next("a", 5, AbortSignal.abort()), AbortedError);
});

Deno.test("stats report frames, bytes, fps, age and source state", async () => {
  const cache = new FrameCache();
  cache.ensure("a");
  assert.equal(cache.stats("a")?.ageMs, null);
  cache.setSourceStatus("a", { state: "live", since: Date.now() });
  for (let i = 0; i < 5; i++) {
    cache.put("a", bytes(i), { width: 4, height: 3 });
    await new Promise((r) => setTimeout(r, 20));
  }
  const s = cache.stats("a")!;
  assert.equal(s.framesIn, 5);
  assert.equal(s.bytesIn, 25);
  assert.equal(s.width, 4);
  assert.equal(s.source.state, "live");
  assert.ok(s.fps > 5 && s.fps < 100, `fps ${s.fps} should be near 50`);
  assert.ok(s.ageMs !== null && s.ageMs >= 0);
  assert.deepEqual(cache.cameras(), ["a"]);
});

Deno.test("listeners see every put", () => {
  const cache = new FrameCache();
  const seen: number[] = [];
  const off = cache.subscribe((f) => seen.push(f.seq));
  cache.put("a", bytes(1));
  cache.put("a", bytes(2));
  off();
  cache.put("a", bytes(3));
  assert.deepEqual(seen, [1, 2]);
});
