import assert from "node:assert/strict";
import { FrameCache } from "../../src/core/frame_cache.ts";
import { Metrics } from "../../src/core/metrics.ts";
import { historyNameProblem, parseHistoryFile } from "../../src/history/history_names.ts";
import { HistoryStore } from "../../src/history/history_store.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";

Deno.test("history file names: camera names with _ parse, temp files and odd names do not", () => {
  assert.deepEqual(parseHistoryFile("front_door_1700000000123.jpg"), {
    kind: "stamped",
    camera: "front_door",
    ts: 1700000000123,
  });
  assert.deepEqual(parseHistoryFile("front_door.jpg"), { kind: "latest", camera: "front_door" });
  assert.equal(parseHistoryFile(".front_door.tmp-1234"), undefined);
  assert.equal(parseHistoryFile("..jpg"), undefined);
  assert.equal(parseHistoryFile("a b.jpg"), undefined);
  assert.equal(parseHistoryFile("notes.txt"), undefined);
  assert.match(historyNameProblem("cam_1700000000123")!, /ends like a history timestamp/);
  assert.match(historyNameProblem("../x")!, /must be 1-64 characters/);
  assert.match(historyNameProblem("..")!, /only dots/);
  assert.equal(historyNameProblem("cam_12"), undefined);
});

Deno.test("a full write queue drops frames and counts them; order and retention hold", async () => {
  const dir = await Deno.makeTempDir({ prefix: "history_unit_" });
  const cache = new FrameCache();
  const metrics = new Metrics();
  const store = new HistoryStore({ dir, keep: 2, queueMax: 3, metrics });
  try {
    await store.open(cache);
    const jpeg = await solidJpeg(8, 8);
    const dropped = metrics.get("detector_history_dropped_total") ?? 0;
    for (let i = 0; i < 10; i++) cache.put("cam", jpeg, { at: 1_700_000_000_000 + i });
    await store.close();
    // One frame is being written while 3 wait: frames 0-3 are written, 4-9 dropped.
    assert.equal((metrics.get("detector_history_dropped_total") ?? 0) - dropped, 6);
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["cam.jpg", "cam_1700000000002.jpg", "cam_1700000000003.jpg"]);
    assert.deepEqual(store.list("cam"), [1_700_000_000_003, 1_700_000_000_002]);
    cache.put("cam", jpeg);
    assert.equal(store.list("cam").length, 2, "nothing is recorded after close");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two frames in the same millisecond get distinct timestamps", async () => {
  const dir = await Deno.makeTempDir({ prefix: "history_unit_" });
  const cache = new FrameCache();
  const store = new HistoryStore({ dir, keep: 5, metrics: new Metrics() });
  try {
    await store.open(cache);
    const jpeg = await solidJpeg(8, 8);
    cache.put("cam", jpeg, { at: 1_700_000_000_000 });
    cache.put("cam", jpeg, { at: 1_700_000_000_000 });
    await store.close();
    assert.deepEqual(store.list("cam"), [1_700_000_000_001, 1_700_000_000_000]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history takes at most one frame per camera per interval", async () => {
  const dir = await Deno.makeTempDir({ prefix: "history_interval_" });
  const cache = new FrameCache();
  const store = new HistoryStore({ dir, keep: 100, minIntervalMs: 1000, metrics: new Metrics() });
  try {
    await store.open(cache);
    const jpeg = await solidJpeg(8, 8);
    const t0 = 1_700_000_000_000;
    // 30 fps for 3 s on one camera, one frame on another
    for (let i = 0; i < 90; i++) cache.put("fast", jpeg, { at: t0 + Math.round(i * 1000 / 30) });
    cache.put("slow", jpeg, { at: t0 });
    await store.close();
    assert.deepEqual(store.list("fast"), [t0 + 2000, t0 + 1000, t0]);
    assert.deepEqual(store.list("slow"), [t0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
