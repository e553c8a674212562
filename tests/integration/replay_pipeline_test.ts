/**
 * `detector replay` of a generated traffic video through the full pympta.md example archive
 * (colour test models), with real Redis and PostgreSQL.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { runDetector } from "../harness/detector.ts";
import { startPostgres } from "../harness/postgres.ts";
import { startRedis } from "../harness/redis.ts";
import { cropSize, fullArchive, readLines } from "../harness/replay_fixtures.ts";
import { makeTestVideo, TEST_VIDEO_BODY_TYPE, TEST_VIDEO_BRAND } from "../harness/test_video.ts";

const RICH_MESSAGE =
  '{"event":"frontal_detected","display_id":"{display_id}","session_id":"{session_id}",' +
  '"image_key":"{image_key}","class":"{class}","confidence":{confidence}}';

Deno.test("replay through the full example: one session per pass, Redis keys, events, rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_full_" });
  const redis = await startRedis();
  const pg = await startPostgres();
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 3 });
    const mpta = await fullArchive(dir, (p) => {
      p.pipeline.actions[1].message = RICH_MESSAGE;
    });
    const sub = await redis.client();
    const messages: string[] = [];
    await sub.subscribe("car_detections", (m: string) => messages.push(m));

    const out = `${dir}/frames.jsonl`;
    const child = runDetector(
      [
        "replay",
        video.path,
        "--mpta",
        mpta,
        "--out",
        out,
        "--spool-dir",
        `${dir}/spool`,
        "--camera",
        "display-001;cam-001",
      ],
      { DETECTOR_REDIS_URL: redis.url, DETECTOR_POSTGRES_URL: pg.url },
    );
    const status = await child.status;
    const output = child.output();
    assert.equal(status.code, 0, output);
    assert.ok(!/ETA/.test(output), "no progress bar when stderr is not a terminal");
    const spool = new RegExp(`writes go to Redis and PostgreSQL; .* wait in ${dir}/spool`);
    assert.match(output, spool, "says up front where writes wait while a server is down");

    const lines = await readLines(out);
    assert.equal(lines.length, video.frames);
    assert.deepEqual(lines.map((l) => l.frame), [...Array(video.frames).keys()]);
    const events = lines.filter((l) => l.event);
    assert.equal(events.length, video.passes, "one event per vehicle pass");
    const sessions = new Set(lines.map((l) => l.sessionId).filter(Boolean));
    assert.equal(sessions.size, video.passes);
    assert.match(output, new RegExp(`sessions\\s+${video.passes}\\b`));
    assert.match(output, /detect\s+\d+\.\d\s+\d+\.\d/, "stage timings p50/p95 in the summary");
    for (const e of events) {
      assert.equal(e.branches?.car_brand_cls_v1.fields.brand, TEST_VIDEO_BRAND);
      assert.equal(e.branches?.car_bodytype_cls_v1.fields.body_type, TEST_VIDEO_BODY_TYPE);
      const frontal = e.detections!.find((d) => d.class === "Frontal")!;
      assert.ok(frontal.box[0] > 2 && frontal.box[2] < video.width - 2, "event on a whole vehicle");
    }

    // Redis: one image per session, with TTL, JPEG of the Frontal region's size
    const c = await redis.client();
    const keys = (await c.keys("inference:*")).sort();
    assert.equal(keys.length, video.passes, keys.join("\n"));
    for (const e of events) {
      const key = keys.find((k) => k.includes(`:${e.sessionId}:`));
      assert.ok(key, `key for session ${e.sessionId}`);
      assert.match(
        key,
        /^inference:display-001:\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d:[0-9a-f-]{36}:[0-9a-f-]{36}\.jpg$/,
      );
      const ttl = await c.ttl(key);
      assert.ok(ttl > 0 && ttl <= 600, `ttl ${ttl}`);
      const bytes = await c.sendCommand(["GET", key], { typeMapping: { 36: Buffer } }) as Buffer;
      const meta = await sharp(bytes).metadata();
      assert.equal(meta.format, "jpeg");
      const frontal = e.detections!.find((d) => d.class === "Frontal")!;
      assert.deepEqual([meta.width, meta.height], cropSize(frontal.box));
    }

    // published events: JSON with the right fields
    assert.equal(messages.length, video.passes);
    for (const m of messages) {
      const j = JSON.parse(m);
      assert.equal(j.event, "frontal_detected");
      assert.equal(j.display_id, "display-001");
      assert.ok(sessions.has(j.session_id));
      assert.ok(keys.includes(j.image_key), "image_key is the saved key");
      assert.equal(typeof j.confidence, "number");
      assert.ok(["Car", "Frontal"].includes(j.class));
    }

    // PostgreSQL: one row per session with brand and body type
    const rows = await pg.sql()`SELECT session_id, display_id, car_brand, car_body_type
      FROM gas_station_1.car_frontal_info ORDER BY created_at`;
    assert.equal(rows.length, video.passes);
    for (const r of rows) {
      assert.ok(sessions.has(r.session_id));
      assert.equal(r.display_id, "display-001");
      assert.equal(r.car_brand, TEST_VIDEO_BRAND);
      assert.equal(r.car_body_type, TEST_VIDEO_BODY_TYPE);
    }
  } finally {
    await redis.close();
    await pg.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("per-frame tracking: every complete frame is its own event (the original's behaviour)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_perframe_" });
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 1 });
    const mpta = await fullArchive(dir);
    const out = `${dir}/frames.jsonl`;
    const child = runDetector([
      "replay",
      video.path,
      "--mpta",
      mpta,
      "--out",
      out,
      "--dry-run",
      "--tracking",
      "per-frame",
      "--session-cooldown",
      "0",
    ]);
    const status = await child.status;
    assert.equal(status.code, 0, child.output());
    const lines = await readLines(out);
    const events = lines.filter((l) => l.event);
    const complete = lines.filter((l) => l.skipped === undefined && l.detections?.length);
    assert.ok(events.length > 3);
    assert.equal(events.length, complete.length);
    assert.equal(new Set(events.map((l) => l.sessionId)).size, events.length);
    assert.equal(
      (child.output().match(/dry run, would write: postgres INSERT session/g) ?? []).length,
      events.length,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a required branch that cannot trigger: no Redis key, no row", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_prevalidation_" });
  const redis = await startRedis();
  const pg = await startPostgres();
  try {
    // frontal green at 210: detected (0.82 ≥ 0.8) but below the brand branch's 0.85
    const video = await makeTestVideo(`${dir}/traffic.mp4`, {
      passes: 1,
      frontalRgb: [100, 210, 0],
    });
    const mpta = await fullArchive(dir);
    const out = `${dir}/frames.jsonl`;
    const child = runDetector(
      ["replay", video.path, "--mpta", mpta, "--out", out, "--spool-dir", `${dir}/spool`],
      { DETECTOR_REDIS_URL: redis.url, DETECTOR_POSTGRES_URL: pg.url },
    );
    assert.equal((await child.status).code, 0, child.output());
    const lines = await readLines(out);
    const seen = lines.filter((l) => l.detections?.some((d) => d.class === "Frontal"));
    assert.ok(seen.length > 3, "the frontal is detected");
    assert.ok(seen.every((l) => l.skipped === "prevalidation" && !l.event && !l.writes));
    const c = await redis.client();
    assert.deepEqual(await c.keys("*"), []);
    const tables = await pg.sql()`SELECT count(*)::int AS n FROM information_schema.tables
      WHERE table_schema = 'gas_station_1'`;
    assert.equal(tables[0].n, 0, "not even the session table: no row was ever written");
  } finally {
    await redis.close();
    await pg.close();
    await Deno.remove(dir, { recursive: true });
  }
});
