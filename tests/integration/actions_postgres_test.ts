import assert from "node:assert/strict";
import { acquireWriteQueue, spoolDirFor } from "../../src/actions/connections.ts";
import type { WriteOp } from "../../src/actions/write_op.ts";
import { Metrics } from "../../src/core/metrics.ts";
import { captureLog } from "../harness/capture_log.ts";
import { PASSWORD, startPostgres } from "../harness/postgres.ts";
import { eventually } from "../harness/process.ts";

const metrics = new Metrics();
const fast = { retryMinMs: 50, retryMaxMs: 300, opTimeoutMs: 5000, metrics };

function session(id: string): WriteOp {
  return {
    sink: "postgres",
    op: "initial_session",
    sessionId: id,
    displayId: "display-001",
    capturedTimestamp: "2025-08-13T01-02-39",
  };
}

function upsert(id: string, fields: Record<string, string | number | null>): WriteOp {
  return {
    sink: "postgres",
    op: "upsert",
    table: "car_frontal_info",
    keyField: "session_id",
    keyValue: id,
    fields,
  };
}

Deno.test("PostgreSQL writes: session table created, rows upserted, values bound", async (t) => {
  const pg = await startPostgres();
  const spoolDir = await Deno.makeTempDir();
  const log = captureLog();
  const lease = await acquireWriteQueue("postgres", pg.url, spoolDir, { ...fast, log });
  const sql = pg.sql();
  try {
    await t.step("initial row then combined upsert", async () => {
      lease.queue.submit([
        session("s-1"),
        upsert("s-1", { car_brand: "Honda", car_body_type: "Sedan" }),
      ]);
      assert.ok(await lease.queue.flush(10_000), log.text());
      const rows = await sql`SELECT * FROM gas_station_1.car_frontal_info`;
      assert.equal(rows.length, 1);
      assert.equal(rows[0].session_id, "s-1");
      assert.equal(rows[0].display_id, "display-001");
      assert.equal(rows[0].captured_timestamp, "2025-08-13T01-02-39");
      assert.equal(rows[0].car_brand, "Honda");
      assert.equal(rows[0].car_body_type, "Sedan");
      assert.equal(rows[0].license_type, "No model available");
    });

    await t.step("replayed writes are idempotent", async () => {
      lease.queue.submit([
        session("s-1"),
        upsert("s-1", { car_brand: "Honda", car_body_type: "Sedan" }),
      ]);
      assert.ok(await lease.queue.flush(10_000));
      const rows = await sql`SELECT count(*)::int AS n FROM gas_station_1.car_frontal_info`;
      assert.equal(rows[0].n, 1);
    });

    await t.step("SQL injection in values is stored as text", async () => {
      const evil = "x'); DROP TABLE gas_station_1.car_frontal_info; --";
      lease.queue.submit([session("s-2"), upsert("s-2", { car_brand: evil, car_model: 'a"b\\c' })]);
      assert.ok(await lease.queue.flush(10_000), log.text());
      const rows = await sql`SELECT car_brand, car_model FROM gas_station_1.car_frontal_info
        WHERE session_id = 's-2'`;
      assert.equal(rows[0].car_brand, evil);
      assert.equal(rows[0].car_model, 'a"b\\c');
    });

    await t.step("bad identifiers (a forged spool entry) are refused, not executed", async () => {
      const before = metrics.get("detector_writes_total", {
        server: lease.queue.target.name,
        result: "rejected",
      }) ?? 0;
      lease.queue.submit([
        {
          ...upsert("s-3", { car_brand: "x" }),
          table: "car_frontal_info; DROP TABLE x",
        } as WriteOp,
        upsert("s-3", { "car_brand = 'x' --": "x" }),
        { ...upsert("s-3", { car_brand: "x" }), keyField: 'session_id" --' } as WriteOp,
        upsert("s-4", { car_brand: "fine" }),
      ]);
      assert.ok(await lease.queue.flush(10_000));
      const after = metrics.get("detector_writes_total", {
        server: lease.queue.target.name,
        result: "rejected",
      });
      assert.equal(after, before + 3);
      const rows = await sql`SELECT session_id FROM gas_station_1.car_frontal_info ORDER BY 1`;
      assert.deepEqual(rows.map((r) => r.session_id), ["s-1", "s-2", "s-4"]);
    });

    await t.step(
      "a write the server refuses (unknown column) is dropped and logged once",
      async () => {
        lease.queue.submit([upsert("s-5", { no_such_column: "x" }), upsert("s-6", { nope: "y" })]);
        lease.queue.submit([upsert("s-7", { no_such_column: "x" })]);
        assert.ok(await lease.queue.flush(10_000));
        const refused = log.lines.filter((l) => /42703/.test(String(l.fields?.reason)));
        assert.equal(refused.length, 2, log.text()); // two different reasons
        assert.equal(lease.queue.spool.size, 0);
      },
    );
  } finally {
    await lease.release();
    await pg.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("PostgreSQL down: writes spool, drain when it is back", async () => {
  const pg = await startPostgres();
  const spoolDir = await Deno.makeTempDir();
  const log = captureLog();
  const lease = await acquireWriteQueue("postgres", pg.url, spoolDir, { ...fast, log });
  try {
    lease.queue.submit([session("before")]);
    assert.ok(await lease.queue.flush(10_000), log.text());
    await pg.stop();
    for (let i = 0; i < 10; i++) {
      lease.queue.submit([session(`s${i}`), upsert(`s${i}`, { car_brand: `b${i}` })]);
    }
    await eventually(() => lease.queue.isDown, "outage noticed", 15_000);
    await eventually(() => lease.queue.spool.size === 20, "20 writes spooled", 15_000);
    await pg.start();
    await eventually(() => lease.queue.spool.size === 0, "spool drained", 20_000);
    const rows = await pg.sql()`SELECT session_id, car_brand FROM gas_station_1.car_frontal_info
      WHERE session_id LIKE 's%' ORDER BY session_id`;
    assert.deepEqual(rows.map((r) => [r.session_id, r.car_brand]), [
      ...Array.from({ length: 10 }, (_, i) => [`s${i}`, `b${i}`]),
    ]);
    assert.equal(log.lines.filter((l) => /unreachable/.test(l.msg)).length, 1, log.text());
  } finally {
    await lease.release();
    await pg.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("wrong PostgreSQL password: one clear error, password not logged, spool keeps writes", async () => {
  const pg = await startPostgres();
  const spoolDir = await Deno.makeTempDir();
  const log = captureLog();
  const lease = await acquireWriteQueue("postgres", pg.passwordUrl("not-the-password"), spoolDir, {
    ...fast,
    log,
  });
  try {
    for (let i = 0; i < 5; i++) lease.queue.submit([session(`w${i}`)]);
    await eventually(() => lease.queue.spool.size === 5, "spooled", 15_000);
    await new Promise((r) => setTimeout(r, 800));
    const errors = log.lines.filter((l) => l.level === "error");
    assert.equal(errors.length, 1, log.text());
    assert.match(String(errors[0].fields?.reason), /authentication failed/);
    assert.match(String(errors[0].fields?.reason), /DETECTOR_POSTGRES_URL/);
    assert.ok(!log.text().includes("not-the-password"));
    // the same server with the right password: the same spool is drained
    const dirA = spoolDirFor("postgres", pg.passwordUrl("not-the-password"), spoolDir);
    assert.equal(dirA, spoolDirFor("postgres", pg.passwordUrl(PASSWORD), spoolDir));
  } finally {
    await lease.release();
  }
  const fixed = await acquireWriteQueue("postgres", pg.passwordUrl(PASSWORD), spoolDir, fast);
  try {
    await eventually(() => fixed.queue.spool.size === 0, "drained with the right password", 15_000);
    const rows = await pg.sql()`SELECT count(*)::int AS n FROM gas_station_1.car_frontal_info`;
    assert.equal(rows[0].n, 5);
  } finally {
    await fixed.release();
    await pg.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});
