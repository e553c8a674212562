import assert from "node:assert/strict";
import { acquireWriteQueue } from "../../src/actions/connections.ts";
import type { WriteOp } from "../../src/actions/write_op.ts";
import { metrics } from "../../src/core/metrics.ts";
import { redactUrl } from "../../src/core/redact.ts";
import { captureLog } from "../harness/capture_log.ts";
import { eventually } from "../harness/process.ts";
import { startRedis } from "../harness/redis.ts";
import { freePort } from "../harness/ports.ts";

const fast = { retryMinMs: 50, retryMaxMs: 300, opTimeoutMs: 3000 };

function setOp(key: string, ttl?: number): WriteOp {
  return { sink: "redis", op: "set", key, value: new TextEncoder().encode(key), ttl };
}

/**
 * Each state a Redis server can be put in that a write can wait out: the writes made while it
 * lasts are spooled, none is dropped, and all arrive once the server is back to normal.
 */
Deno.test("Redis: MISCONF, BUSY, READONLY, OOM and max clients spool writes; WRONG values are dropped once", async (t) => {
  const redis = await startRedis({ args: ["--enable-protected-configs", "yes"] });
  const spoolDir = await Deno.makeTempDir();
  const scratch = await Deno.makeTempDir();
  const log = captureLog();
  const lease = await acquireWriteQueue("redis", redis.url, spoolDir, { ...fast, log });
  const admin = await redis.client();
  const rejected = () =>
    metrics.get("detector_writes_total", { server: redactUrl(redis.url), result: "rejected" }) ??
      0;
  const passes = async (
    name: string,
    enter: () => Promise<void>,
    leave: () => Promise<void>,
  ) => {
    await t.step(name, async () => {
      const before = rejected();
      await enter();
      const keys = [1, 2, 3].map((i) => `${name}:${i}`);
      lease.queue.submit(keys.map((k) => setOp(k)));
      await eventually(() => lease.queue.spool.size > 0, `${name}: writes spooled`);
      assert.equal(rejected(), before, `${name}: no write dropped\n${log.text()}`);
      await leave();
      await eventually(() => lease.queue.flush(1000), `${name}: spool drained`, 20_000).catch(
        (e) => {
          throw new Error(`${e}\n${log.text()}`);
        },
      );
      for (const k of keys) assert.equal(await admin.get(k), k, `${name}: ${k} arrived`);
      assert.equal(rejected(), before);
    });
  };
  try {
    lease.queue.submit([setOp("warmup")]);
    assert.ok(await lease.queue.flush(5000));

    await passes("MISCONF", async () => {
      const gone = `${scratch}/gone`;
      await Deno.mkdir(gone);
      await admin.configSet("dir", gone);
      await Deno.remove(gone);
      await admin.configSet("save", "3600 1");
      await admin.sendCommand(["BGSAVE"]).catch(() => {});
      await eventually(
        async () => (await admin.info("persistence")).includes("rdb_last_bgsave_status:err"),
        "bgsave failed",
      );
    }, async () => {
      await admin.configSet("dir", scratch);
      await admin.configSet("save", "");
    });

    await passes("READONLY", async () => {
      await admin.sendCommand(["REPLICAOF", "127.0.0.1", String(freePort())]);
    }, async () => {
      await admin.sendCommand(["REPLICAOF", "NO", "ONE"]);
    });

    await passes("OOM", async () => {
      await admin.configSet({ "maxmemory-policy": "noeviction", maxmemory: "1" });
    }, async () => {
      await admin.configSet("maxmemory", "0");
    });

    const busy = await redis.client();
    let script: Promise<unknown> = Promise.resolve();
    await passes("BUSY", async () => {
      await admin.configSet("busy-reply-threshold", "50");
      script = busy.sendCommand(["EVAL", "while true do end", "0"]).catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
    }, async () => {
      await eventually(
        async () => (await admin.sendCommand(["SCRIPT", "KILL"]).then(() => true, () => false)),
        "script killed",
      );
      await script;
    });

    await passes("max clients", async () => {
      await admin.configSet("maxclients", "1");
      await admin.sendCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
    }, async () => {
      await admin.configSet("maxclients", "1000");
    });

    await t.step("a write that can never pass is dropped, logged once, counted", async () => {
      const before = rejected();
      lease.queue.submit([setOp("bad:1", 1e20), setOp("bad:2", 1e20), setOp("good")]);
      assert.ok(await lease.queue.flush(10_000), log.text());
      assert.equal(rejected(), before + 2);
      assert.equal(await admin.get("good"), "good");
      const lines = log.lines.filter((l) => /refused a write/.test(l.msg));
      assert.equal(lines.length, 1, log.text());
    });
  } finally {
    await lease.release();
    await redis.close();
    await Deno.remove(spoolDir, { recursive: true });
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
});
