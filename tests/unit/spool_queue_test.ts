import assert from "node:assert/strict";
import { Spool } from "../../src/actions/spool.ts";
import { Metrics } from "../../src/core/metrics.ts";

const metrics = new Metrics();

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "spool_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function drain(s: Spool): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let h = await s.head(); h; h = await s.head()) {
    out.push(h.value);
    await s.remove(h.seq);
  }
  return out;
}

Deno.test("entries come back in append order and are removed from disk", () =>
  withDir(async (dir) => {
    const s = await Spool.open(dir, { metrics });
    for (let i = 0; i < 20; i++) void s.append({ i });
    assert.equal(s.size, 20);
    await s.settled();
    assert.deepEqual(await drain(s), Array.from({ length: 20 }, (_, i) => ({ i })));
    assert.equal(s.size, 0);
    assert.equal(s.bytes, 0);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    s.close();
  }));

Deno.test("the spool survives a restart and continues the sequence", () =>
  withDir(async (dir) => {
    const a = await Spool.open(dir, { metrics });
    await a.append({ n: 1 });
    await a.append({ n: 2 });
    a.close();
    const b = await Spool.open(dir, { metrics });
    assert.equal(b.size, 2);
    await b.append({ n: 3 });
    assert.deepEqual(await drain(b), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    b.close();
  }));

Deno.test("overflow drops the oldest entries and counts them", () =>
  withDir(async (dir) => {
    const label = `test-${crypto.randomUUID()}`;
    const s = await Spool.open(dir, { maxEntries: 5, label, metrics });
    for (let i = 0; i < 12; i++) void s.append({ i });
    await s.settled();
    assert.equal(s.size, 5);
    assert.equal(s.dropped, 7);
    assert.equal(
      metrics.get("detector_spool_dropped_total", { spool: label, reason: "full" }),
      7,
    );
    assert.deepEqual(await drain(s), [7, 8, 9, 10, 11].map((i) => ({ i })));
    s.close();
  }));

Deno.test("byte limit is enforced too", () =>
  withDir(async (dir) => {
    const s = await Spool.open(dir, { maxBytes: 1000, metrics });
    for (let i = 0; i < 10; i++) void s.append({ pad: "x".repeat(300), i });
    await s.settled();
    assert.ok(s.bytes <= 1000, `bytes ${s.bytes}`);
    const left = (await drain(s)) as { i: number }[];
    assert.deepEqual(left.map((e) => e.i), [7, 8, 9]);
    s.close();
  }));

Deno.test("corrupt and leftover temporary files are skipped, not fatal", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/000000000001.json`, '{"ok":1}');
    await Deno.writeTextFile(`${dir}/000000000002.json`, "{not json");
    await Deno.writeTextFile(`${dir}/000000000003.json.tmp`, "partial");
    await Deno.writeTextFile(`${dir}/000000000004.json`, '{"ok":4}');
    await Deno.writeTextFile(`${dir}/README`, "not an entry");
    const s = await Spool.open(dir, { metrics });
    assert.equal(s.size, 3);
    assert.deepEqual(await drain(s), [{ ok: 1 }, { ok: 4 }]);
    assert.ok(!(await Deno.stat(`${dir}/000000000003.json.tmp`).catch(() => null)));
    s.close();
  }));
