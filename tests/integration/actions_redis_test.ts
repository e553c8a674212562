import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { acquireWriteQueue } from "../../src/actions/connections.ts";
import type { WriteOp } from "../../src/actions/write_op.ts";
import { Metrics } from "../../src/core/metrics.ts";
import { eventually } from "../harness/process.ts";
import { captureLog } from "../harness/capture_log.ts";
import { startRedis } from "../harness/redis.ts";

const fast = { retryMinMs: 50, retryMaxMs: 300, opTimeoutMs: 2000, metrics: new Metrics() };

function setOp(key: string, text: string, ttl?: number): WriteOp {
  return { sink: "redis", op: "set", key, value: new TextEncoder().encode(text), ttl };
}

Deno.test("SET with EX and PUBLISH reach Redis in order", async () => {
  const redis = await startRedis();
  const spoolDir = await Deno.makeTempDir();
  const lease = await acquireWriteQueue("redis", redis.url, spoolDir, fast);
  try {
    const sub = await redis.client();
    const got: string[] = [];
    await sub.subscribe("events", (m: string) => got.push(m));
    await eventually(async () => (await redis.client()).isReady, "client");
    lease.queue.submit([
      setOp("img:1", "\u00ff\u0000binary", 600),
      { sink: "redis", op: "publish", channel: "events", message: '{"a":1}' },
    ]);
    assert.ok(await lease.queue.flush(5000));
    const c = await redis.client();
    const ttl = await c.ttl("img:1");
    assert.ok(ttl > 590 && ttl <= 600, `ttl ${ttl}`);
    const bytes = await c.sendCommand(["GET", "img:1"], { typeMapping: { 36: Buffer } });
    assert.deepEqual(
      new Uint8Array(bytes as unknown as Buffer),
      new TextEncoder().encode("\u00ff\u0000binary"),
    );
    await eventually(() => got.length === 1, "published message");
    assert.deepEqual(got, ['{"a":1}']);
  } finally {
    await lease.release();
    await redis.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("Redis down: writes spool on disk, drain in order when it is back; outage logged once", async () => {
  const redis = await startRedis();
  const spoolDir = await Deno.makeTempDir();
  const log = captureLog();
  const lease = await acquireWriteQueue("redis", redis.url, spoolDir, { ...fast, log });
  try {
    lease.queue.submit([setOp("k0", "v0")]);
    assert.ok(await lease.queue.flush(5000));
    await redis.stop();
    for (let i = 1; i <= 30; i++) {
      lease.queue.submit([setOp(`k${i}`, `v${i}`), setOp("last", `v${i}`)]);
    }
    await eventually(() => lease.queue.isDown, "queue notices the outage");
    await eventually(() => lease.queue.spool.size === 60, "60 writes spooled");
    await lease.queue.spool.settled();
    const files = [...Deno.readDirSync(lease.queue.spool.dir)].filter((e) =>
      e.name.endsWith(".json")
    );
    assert.equal(files.length, 60, "spooled writes are files on disk");
    await new Promise((r) => setTimeout(r, 700)); // several retries while down
    await redis.start();
    await eventually(
      () => lease.queue.spool.size === 0 && !lease.queue.isDown,
      "spool drained",
      15_000,
    );
    const c = await redis.client();
    // (k0 went with the restarted, non-persistent server)
    for (let i = 1; i <= 30; i++) assert.equal(await c.get(`k${i}`), `v${i}`);
    assert.equal(await c.get("last"), "v30", "replayed in order: the last write wins");
    const downs = log.lines.filter((l) => /unreachable/.test(l.msg));
    const ups = log.lines.filter((l) => /is back, replaying/.test(l.msg));
    assert.equal(downs.length, 1, log.text());
    assert.equal(ups.length, 1, log.text());
    assert.ok(!/:\/\/[^@\s]*:[^@\s*]+@/.test(log.text()), "no password in logs");
  } finally {
    await lease.release();
    await redis.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("spooled writes survive a restart of the detector", async () => {
  const redis = await startRedis();
  const spoolDir = await Deno.makeTempDir();
  try {
    await redis.stop();
    const first = await acquireWriteQueue("redis", redis.url, spoolDir, fast);
    first.queue.submit([setOp("a", "1"), setOp("b", "2")]);
    await eventually(() => first.queue.spool.size === 2, "spooled");
    await first.release(); // process exits with the writes on disk
    await redis.start();
    const second = await acquireWriteQueue("redis", redis.url, spoolDir, fast);
    try {
      await eventually(() => second.queue.spool.size === 0, "drained after restart", 10_000);
      const c = await redis.client();
      assert.equal(await c.get("a"), "1");
      assert.equal(await c.get("b"), "2");
    } finally {
      await second.release();
    }
  } finally {
    await redis.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("wrong Redis password: one clear error, writes kept in the spool", async () => {
  const redis = await startRedis({ password: "right" });
  const spoolDir = await Deno.makeTempDir();
  const log = captureLog();
  const url = redis.url.replace(":right@", ":wrong@");
  const lease = await acquireWriteQueue("redis", url, spoolDir, { ...fast, log });
  try {
    for (let i = 0; i < 5; i++) lease.queue.submit([setOp(`k${i}`, "v")]);
    await eventually(() => lease.queue.spool.size === 5, "spooled");
    await new Promise((r) => setTimeout(r, 600));
    const errors = log.lines.filter((l) => l.level === "error");
    assert.equal(errors.length, 1, log.text());
    assert.match(String(errors[0].fields?.reason), /authentication failed|WRONGPASS/);
    assert.ok(!log.text().includes("wrong"), "the password is not logged");
  } finally {
    await lease.release();
    await redis.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("the same server is one shared write path", async () => {
  const redis = await startRedis();
  const spoolDir = await Deno.makeTempDir();
  try {
    const a = await acquireWriteQueue("redis", redis.url, spoolDir, fast);
    const b = await acquireWriteQueue("redis", redis.url, spoolDir, fast);
    assert.equal(a.queue, b.queue);
    await a.release();
    b.queue.submit([setOp("still", "open")]);
    assert.ok(await b.queue.flush(5000));
    assert.equal(await (await redis.client()).get("still"), "open");
    await b.release();
  } finally {
    await redis.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});
