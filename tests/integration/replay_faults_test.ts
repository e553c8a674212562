/**
 * Faults during `detector replay` with real servers: Redis or PostgreSQL stopped mid-replay and
 * restarted, a wrong PostgreSQL password, SQL injection attempts.
 */
import assert from "node:assert/strict";
import { BRAND_CLASSES, buildColourClassifier } from "../../src/testmodels/colour_classifier.ts";
import { fullExampleModels } from "../../src/testmodels/example_archives.ts";
import { runDetector } from "../harness/detector.ts";
import { startPostgres } from "../harness/postgres.ts";
import { eventually } from "../harness/process.ts";
import { startRedis } from "../harness/redis.ts";
import { fullArchive, type PipelineJson, readLines } from "../harness/replay_fixtures.ts";
import { makeTestVideo, TEST_VIDEO_BODY_TYPE, TEST_VIDEO_BRAND } from "../harness/test_video.ts";

/** Spooled writes on disk for one kind of server (`redis-…` or `postgres-…` folders). */
function spooled(spoolDir: string, kind: "redis" | "postgres"): number {
  let n = 0;
  try {
    for (const d of Deno.readDirSync(spoolDir)) {
      if (!d.isDirectory || !d.name.startsWith(`${kind}-`)) continue;
      for (const f of Deno.readDirSync(`${spoolDir}/${d.name}`)) {
        if (/^\d+\.json$/.test(f.name)) n++;
      }
    }
  } catch {
    // not created yet
  }
  return n;
}

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

Deno.test("Redis stopped mid-replay: no crash, spool grows, drains after restart, all keys there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_redis_fault_" });
  const redis = await startRedis();
  const pg = await startPostgres();
  const spoolDir = `${dir}/spool`;
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 4 });
    const mpta = await fullArchive(dir);
    const out = `${dir}/frames.jsonl`;
    const child = runDetector(
      ["replay", video.path, "--mpta", mpta, "--realtime", "--out", out, "--spool-dir", spoolDir],
      { DETECTOR_REDIS_URL: redis.url, DETECTOR_POSTGRES_URL: pg.url },
    );
    try {
      const c = await redis.client();
      await eventually(async () => (await c.keys("inference:*")).length >= 1, "first key", 30_000);
      await c.sendCommand(["SAVE"]); // the restarted server reloads what it had
      await redis.stop();
      await eventually(() => spooled(spoolDir, "redis") >= 2, "writes spooled on disk", 30_000);
      assert.equal(await Promise.race([child.status.then(() => "exited"), "running"]), "running");
      await redis.start();
      await eventually(() => spooled(spoolDir, "redis") === 0, "spool drained", 30_000);
      const status = await child.status;
      assert.equal(status.code, 0, child.output());
    } finally {
      await child.stop();
    }
    const lines = await readLines(out);
    const sessions = new Set(lines.map((l) => l.sessionId).filter(Boolean));
    assert.equal(sessions.size, video.passes);
    const c = await redis.client();
    const keys = await c.keys("inference:*");
    assert.equal(keys.length, video.passes, "every session's image is in Redis");
    for (const s of sessions) assert.ok(keys.some((k) => k.includes(`:${s}:`)), s!);
    for (const k of keys) assert.ok((await c.ttl(k)) > 0);
    const output = child.output();
    assert.equal(count(output, /redis:\/\/\S+ unreachable/g), 1, output);
    assert.equal(count(output, /redis:\/\/\S+ is back/g), 1, output);
  } finally {
    await redis.close();
    await pg.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PostgreSQL stopped mid-replay: no crash, spool grows, drains after restart, all rows there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_pg_fault_" });
  const redis = await startRedis();
  const pg = await startPostgres();
  const spoolDir = `${dir}/spool`;
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 4 });
    const mpta = await fullArchive(dir);
    const out = `${dir}/frames.jsonl`;
    const child = runDetector(
      ["replay", video.path, "--mpta", mpta, "--realtime", "--out", out, "--spool-dir", spoolDir],
      { DETECTOR_REDIS_URL: redis.url, DETECTOR_POSTGRES_URL: pg.url },
    );
    try {
      const sql = pg.sql();
      await eventually(
        async () => {
          const r = await sql`SELECT count(*)::int AS n FROM gas_station_1.car_frontal_info
          WHERE car_brand IS NOT NULL`;
          return r[0].n >= 1;
        },
        "first row",
        30_000,
      );
      await sql.end({ timeout: 1 });
      await pg.stop();
      await eventually(() => spooled(spoolDir, "postgres") >= 2, "writes spooled on disk", 30_000);
      assert.equal(await Promise.race([child.status.then(() => "exited"), "running"]), "running");
      await pg.start();
      await eventually(() => spooled(spoolDir, "postgres") === 0, "spool drained", 30_000);
      assert.equal((await child.status).code, 0, child.output());
    } finally {
      await child.stop();
    }
    const lines = await readLines(out);
    const sessions = new Set(lines.map((l) => l.sessionId).filter(Boolean));
    assert.equal(sessions.size, video.passes);
    const rows = await pg.sql()`SELECT session_id, car_brand, car_body_type
      FROM gas_station_1.car_frontal_info`;
    assert.equal(rows.length, video.passes);
    for (const r of rows) {
      assert.ok(sessions.has(r.session_id));
      assert.equal(r.car_brand, TEST_VIDEO_BRAND);
      assert.equal(r.car_body_type, TEST_VIDEO_BODY_TYPE);
    }
    const output = child.output();
    assert.equal(count(output, /postgres:\/\/\S+ unreachable/g), 1, output);
  } finally {
    await redis.close();
    await pg.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wrong PostgreSQL password: one clear error, no password in the output, replay goes on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_pg_password_" });
  const redis = await startRedis();
  const pg = await startPostgres();
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 2 });
    const mpta = await fullArchive(dir);
    const out = `${dir}/frames.jsonl`;
    const secret = "Sekr3t-But-Wrong";
    const child = runDetector(
      ["replay", video.path, "--mpta", mpta, "--out", out, "--spool-dir", `${dir}/spool`],
      { DETECTOR_REDIS_URL: redis.url, DETECTOR_POSTGRES_URL: pg.passwordUrl(secret) },
    );
    assert.equal((await child.status).code, 0, child.output());
    const output = child.output();
    const authLines = output.split("\n").filter((l) => /authentication failed/.test(l));
    assert.equal(authLines.length, 1, output);
    assert.match(authLines[0], /ERROR/);
    assert.ok(!output.includes(secret), "the password is never printed");
    assert.match(output, /stay in the spool/);
    assert.equal((await readLines(out)).length, video.frames, "every frame processed");
    assert.equal((await (await redis.client()).keys("inference:*")).length, video.passes);
  } finally {
    await redis.close();
    await pg.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SQL injection in table and column names is refused before anything runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_sql_names_" });
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 1 });
    const edits: [string, (p: PipelineJson) => void, RegExp][] = [
      ["table", (p) => {
        p.pipeline.parallelActions[0].table = "car_frontal_info; DROP TABLE users";
      }, /table/],
      ["column", (p) => {
        p.pipeline.parallelActions[0].fields["car_brand = 'x' --"] = "{car_brand_cls_v1.brand}";
      }, /car_brand = 'x' --/],
      ["key_field", (p) => {
        p.pipeline.parallelActions[0].key_field = 'session_id" OR 1=1 --';
      }, /key_field/],
    ];
    for (const [what, edit, re] of edits) {
      const mpta = await fullArchive(dir, edit);
      const child = runDetector(["replay", video.path, "--mpta", mpta, "--dry-run"]);
      const status = await child.status;
      const output = child.output();
      assert.notEqual(status.code, 0, `${what}: ${output}`);
      assert.match(output, re, what);
      assert.match(output, /plain identifier|plain column name/, what);
      assert.ok(!/replay summary/.test(output), `${what}: no frame was processed`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SQL injection in template values (class names) is stored as text", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_sql_values_" });
  const pg = await startPostgres();
  try {
    const evil = "Toy'); DROP TABLE gas_station_1.car_frontal_info; --";
    const models = {
      ...fullExampleModels(),
      "car_brand_cls_v1.onnx": buildColourClassifier({
        classes: BRAND_CLASSES.map((c) => c.name === TEST_VIDEO_BRAND ? { ...c, name: evil } : c),
        family: "green",
      }),
    };
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 1 });
    const mpta = await fullArchive(dir, (p) => {
      delete p.redis;
      p.pipeline.actions = [];
    }, models);
    const child = runDetector(
      ["replay", video.path, "--mpta", mpta, "--out", `${dir}/f.jsonl`, "--spool-dir", `${dir}/s`],
      { DETECTOR_POSTGRES_URL: pg.url },
    );
    assert.equal((await child.status).code, 0, child.output());
    const rows = await pg.sql()`SELECT car_brand FROM gas_station_1.car_frontal_info`;
    assert.equal(rows.length, 1);
    assert.equal(rows[0].car_brand, evil);
  } finally {
    await pg.close();
    await Deno.remove(dir, { recursive: true });
  }
});
