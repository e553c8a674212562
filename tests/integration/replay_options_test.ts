/** `detector replay` options: --every, --annotate (folder, MP4), --dry-run, --serve, bad input. */
import assert from "node:assert/strict";
import sharp from "sharp";
import { launchChromium } from "../harness/chromium.ts";
import { runDetector } from "../harness/detector.ts";
import { startFfmpeg } from "../harness/ffmpeg.ts";
import { eventually } from "../harness/process.ts";
import { startRedis } from "../harness/redis.ts";
import { detectionOnlyArchive, fullArchive, readLines } from "../harness/replay_fixtures.ts";
import { makeTestVideo } from "../harness/test_video.ts";
import { snapshotView, tileView } from "../harness/viewer_probe.ts";

Deno.test("detection-only archive with --every and --annotate DIR / OUT.mp4", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_opts_" });
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 2 });
    const mpta = await detectionOnlyArchive(dir);
    const out = `${dir}/frames.jsonl`;
    const child = runDetector([
      "replay",
      video.path,
      "--mpta",
      mpta,
      "--every",
      "2",
      "--out",
      out,
      "--annotate",
      `${dir}/annotated`,
    ]);
    assert.equal((await child.status).code, 0, child.output());
    const lines = await readLines(out);
    assert.equal(lines.length, video.frames / 2);
    assert.deepEqual(lines.map((l) => l.frame), lines.map((_, i) => i * 2));
    assert.deepEqual(lines.map((l) => l.time), lines.map((_, i) => (i * 2) / video.fps));
    const carTracks = new Set(
      lines.flatMap((l) =>
        l.detections?.filter((d) => d.class === "Car").map((d) => d.trackId) ?? []
      ),
    );
    assert.equal(
      carTracks.has(undefined) ? carTracks.size - 1 : carTracks.size,
      video.passes,
      "one car track per pass at 2.5 analysed frames/s",
    );
    assert.ok(lines.every((l) => !l.writes && l.sessionId === null), "no databases, no sessions");
    assert.equal(lines.filter((l) => l.event).length, video.passes, "one event per vehicle");
    assert.match(child.output(), new RegExp(`sessions\\s+${video.passes}\\b`));
    const files = [...Deno.readDirSync(`${dir}/annotated`)].map((e) => e.name).sort();
    assert.equal(files.length, lines.length);
    assert.equal(files[1], "frame_000002.jpg");
    const meta = await sharp(`${dir}/annotated/${files[3]}`).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", video.width, video.height]);
    assert.match(child.output(), /frames\s+20 processed of 40/);

    const mp4 = `${dir}/annotated.mp4`;
    const child2 = runDetector([
      "replay",
      video.path,
      "--mpta",
      mpta,
      "--out",
      `${dir}/b.jsonl`,
      "--annotate",
      mp4,
      "--size",
      "320x180",
    ]);
    assert.equal((await child2.status).code, 0, child2.output());
    assert.match(child2.output(), /analysis_size=320x180/);
    const probe = await new Deno.Command("ffprobe", {
      args: [
        "-v",
        "error",
        "-count_frames",
        "-show_entries",
        "stream=nb_read_frames,width,height",
        "-of",
        "csv=p=0",
        mp4,
      ],
    }).output();
    assert.equal(
      new TextDecoder().decode(probe.stdout).trim(),
      `${video.width},${video.height},${video.frames}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--dry-run prints the writes and writes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_dry_" });
  const redis = await startRedis();
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 2 });
    const mpta = await fullArchive(dir);
    const child = runDetector(
      [
        "replay",
        video.path,
        "--mpta",
        mpta,
        "--dry-run",
        "--out",
        `${dir}/f.jsonl`,
        "--spool-dir",
        `${dir}/spool`,
      ],
      {
        DETECTOR_REDIS_URL: redis.url,
        DETECTOR_POSTGRES_URL: "postgres://nobody@127.0.0.1:1/none",
      },
    );
    assert.equal((await child.status).code, 0, child.output());
    const out = child.output();
    assert.equal((out.match(/would write: redis SET "inference:replay:/g) ?? []).length, 2);
    assert.equal((out.match(/would write: redis PUBLISH "car_detections"/g) ?? []).length, 2);
    assert.equal((out.match(/would write: postgres INSERT session/g) ?? []).length, 2);
    assert.equal(
      (out.match(
        /would write: postgres UPSERT car_frontal_info session_id="[0-9a-f-]{36}" car_brand="Toyota" car_body_type="SUV"/g,
      ) ?? []).length,
      2,
    );
    assert.deepEqual(await (await redis.client()).keys("*"), []);
    assert.ok(!/unreachable/.test(out), "no connection attempted");
    assert.ok(!/wait in .*spool/.test(out), "a dry run spools nothing");
    const lines = await readLines(`${dir}/f.jsonl`);
    assert.equal(lines.filter((l) => l.writes?.length === 4).length, 2);
  } finally {
    await redis.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--serve shows the annotated replay in the viewer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_serve_" });
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 1 });
    const mpta = await detectionOnlyArchive(dir);
    const child = runDetector([
      "replay",
      video.path,
      "--mpta",
      mpta,
      "--out",
      `${dir}/f.jsonl`,
      "--serve",
      "127.0.0.1:0",
    ]);
    try {
      const m = await child.waitFor(/listening on (http:\/\/[^\s]+)/, 30_000);
      await child.waitFor(/replay finished; the viewer stays up/, 60_000);
      const res = await fetch(`${m[1]}/cameras/replay/snapshot.jpg`);
      assert.equal(res.status, 200);
      const jpeg = new Uint8Array(await res.arrayBuffer());
      const meta = await sharp(jpeg).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", video.width, video.height]);
      // The replay ended: its last annotated frame stays in the viewer, and ffmpeg reads it.
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.navigate(`${m[1]}/`);
        const last = await snapshotView(page, "replay");
        assert.equal(last.width, video.width);
        await eventually(
          async () => (await tileView(page, "replay")).hash === last.hash,
          "the viewer's tile to show the last frame",
        );
      } finally {
        await browser.close();
      }
      const ffmpeg = startFfmpeg([
        "-loglevel",
        "error",
        "-f",
        "mpjpeg",
        "-i",
        `${m[1]}/cameras/replay/stream.mjpg`,
        "-frames:v",
        "1",
        "-c",
        "copy",
        `${dir}/last.jpg`,
      ]);
      assert.equal((await ffmpeg.status).code, 0, ffmpeg.output());
      assert.deepEqual(await Deno.readFile(`${dir}/last.jpg`), jpeg);
    } finally {
      const status = await child.stop();
      assert.equal(status.code, 0, child.output());
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input: clear errors, exit code 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_bad_" });
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 1 });
    const mpta = await detectionOnlyArchive(dir);
    await Deno.writeTextFile(`${dir}/not_a_video.mp4`, "hello");
    await Deno.writeTextFile(`${dir}/not_an_archive.mpta`, "hello");
    const cases: [string[], RegExp][] = [
      [[`${dir}/missing.mp4`, "--mpta", mpta], /cannot read video .*missing\.mp4/],
      [[`${dir}/not_a_video.mp4`, "--mpta", mpta], /not a readable video/],
      [[video.path, "--mpta", `${dir}/not_an_archive.mpta`], /not_an_archive\.mpta/],
      [[video.path], /--mpta/],
      [[video.path, "--mpta", mpta, "--every", "0"], /--every expects a number between 1/],
      [[video.path, "--mpta", mpta, "--size", "big"], /--size expects model, full or WxH/],
      [
        [video.path, "--mpta", mpta, "--tracking", "sometimes"],
        /--tracking expects one of bytetrack, per-frame/,
      ],
      [[video.path, "--mpta", mpta, "--serve", "localhost:99999"], /--serve expects/],
      [
        [video.path, "--mpta", mpta, "--session-cooldown", "soon"],
        /--session-cooldown expects a duration/,
      ],
    ];
    for (const [args, re] of cases) {
      const child = runDetector(["replay", ...args]);
      const status = await child.status;
      assert.notEqual(status.code, 0, args.join(" "));
      assert.match(child.output(), re, args.join(" "));
    }
    const bad = runDetector(["replay", video.path, "--mpta", mpta], {
      DETECTOR_REDIS_URL: "http://x",
    });
    assert.equal((await bad.status).code, 0, "a detection-only archive does not need Redis");
    const full = await fullArchive(dir);
    const bad2 = runDetector(["replay", video.path, "--mpta", full], {
      DETECTOR_REDIS_URL: "http://x",
    });
    assert.equal((await bad2.status).code, 2);
    assert.match(bad2.output(), /Redis URL: "http:\/\/x" must start with redis:\/\//);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
