import assert from "node:assert/strict";
import { acquireWriteQueue } from "../../src/actions/connections.ts";
import type { WriteOp } from "../../src/actions/write_op.ts";
import { Metrics } from "../../src/core/metrics.ts";
import { redactUrl } from "../../src/core/redact.ts";
import { captureLog } from "../harness/capture_log.ts";
import { eventually } from "../harness/process.ts";
import { startRedis } from "../harness/redis.ts";
import { freePort } from "../harness/ports.ts";
import { startPostgres } from "../harness/postgres.ts";
import { startPgDropProxy } from "../harness/pg_drop_proxy.ts";

const metrics = new Metrics();
const fast = { retryMinMs: 50, retryMaxMs: 300, opTimeoutMs: 3000, metrics };

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

function pgUpsert(id: string, fields: Record<string, string | number | null>): WriteOp {
  return {
    sink: "postgres",
    op: "upsert",
    table: "car_frontal_info",
    keyField: "session_id",
    keyValue: id,
    fields,
  };
}

Deno.test("PostgreSQL: too many connections (53300), admin shutdown (57P01) and read-only (25006) spool writes; an unknown column is dropped once", async (t) => {
  const pg = await startPostgres();
  const admin = pg.sql();
  await admin.unsafe("CREATE ROLE writer LOGIN");
  await admin.unsafe("ALTER DATABASE detector OWNER TO writer");
  await admin.unsafe("CREATE SCHEMA gas_station_1 AUTHORIZATION writer");
  await admin.unsafe(
    "CREATE TABLE gas_station_1.car_frontal_info (session_id text PRIMARY KEY, color text)",
  );
  await admin.unsafe("ALTER TABLE gas_station_1.car_frontal_info OWNER TO writer");
  const url = `postgres://writer@127.0.0.1:${pg.port}/detector`;
  const spoolDir = await Deno.makeTempDir();
  const log = captureLog();
  const lease = await acquireWriteQueue("postgres", url, spoolDir, { ...fast, log });
  const kick = () =>
    admin.unsafe("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'writer'");
  const rejected = () =>
    metrics.get("detector_writes_total", { server: redactUrl(url), result: "rejected" }) ?? 0;
  const passes = async (name: string, enter: () => Promise<void>, leave: () => Promise<void>) => {
    await t.step(name, async () => {
      const before = rejected();
      await enter();
      const ids = [1, 2, 3].map((i) => `${name}-${i}`);
      lease.queue.submit(ids.map((id) => pgUpsert(id, { color: name })));
      await eventually(() => lease.queue.spool.size > 0, `${name}: writes spooled`);
      assert.equal(rejected(), before, `${name}: no write dropped\n${log.text()}`);
      await leave();
      await eventually(() => lease.queue.flush(1000), `${name}: spool drained`, 20_000);
      const rows = await admin.unsafe(
        "SELECT session_id FROM gas_station_1.car_frontal_info WHERE color = $1 ORDER BY session_id",
        [name],
      );
      assert.deepEqual(rows.map((r) => r.session_id), ids);
      assert.equal(rejected(), before);
    });
  };
  try {
    lease.queue.submit([pgUpsert("warmup", { color: "x" })]);
    assert.ok(await lease.queue.flush(10_000), log.text());

    await passes("53300", async () => {
      await admin.unsafe("ALTER ROLE writer CONNECTION LIMIT 0");
      await kick();
    }, async () => {
      await admin.unsafe("ALTER ROLE writer CONNECTION LIMIT -1");
    });

    await passes("25006", async () => {
      await admin.unsafe("ALTER ROLE writer SET default_transaction_read_only = on");
      await kick();
    }, async () => {
      await admin.unsafe("ALTER ROLE writer RESET default_transaction_read_only");
      await kick();
    });

    await t.step("an unknown column is dropped, logged once, counted", async () => {
      const before = rejected();
      lease.queue.submit([
        pgUpsert("bad-1", { no_such_column: 1 }),
        pgUpsert("bad-2", { no_such_column: 2 }),
        pgUpsert("good", { color: "ok" }),
      ]);
      assert.ok(await lease.queue.flush(10_000), log.text());
      assert.equal(rejected(), before + 2);
      assert.equal(log.lines.filter((l) => /refused a write/.test(l.msg)).length, 1, log.text());
      const rows = await admin.unsafe(
        "SELECT color FROM gas_station_1.car_frontal_info WHERE session_id = 'good'",
      );
      assert.equal(rows[0]?.color, "ok");
    });
  } finally {
    await lease.release();
    await pg.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("PostgreSQL: a connection ended as soon as it is ready costs a retry, never the process", async () => {
  const pg = await startPostgres();
  const admin = pg.sql();
  await admin.unsafe("CREATE SCHEMA gas_station_1");
  await admin.unsafe(
    "CREATE TABLE gas_station_1.car_frontal_info (session_id text PRIMARY KEY, color text)",
  );
  const proxy = startPgDropProxy(pg.port);
  const spoolDir = await Deno.makeTempDir();
  const log = captureLog();
  const url = `postgres://postgres@127.0.0.1:${proxy.port}/detector`;
  const lease = await acquireWriteQueue("postgres", url, spoolDir, { ...fast, log });
  const rejected = () =>
    metrics.get("detector_writes_total", { server: redactUrl(url), result: "rejected" }) ?? 0;
  try {
    lease.queue.submit([pgUpsert("first", { color: "red" })]);
    await eventually(() => lease.queue.flush(1000), "the write retried and landed", 20_000);
    assert.equal(proxy.drops(), 1, "the first connection was ended right after it was ready");
    assert.equal(rejected(), 0);
    const rows = await admin.unsafe(
      "SELECT color FROM gas_station_1.car_frontal_info WHERE session_id = 'first'",
    );
    assert.equal(rows[0]?.color, "red");
  } finally {
    await lease.release();
    await proxy.close();
    await pg.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});
