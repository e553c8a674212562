/**
 * `replay --out FILE` killed with SIGKILL: every frame whose writes reached the spool has its line
 * in the file (at most the frame in flight is missing), and every line in the file is whole.
 */
import assert from "node:assert/strict";
import { runDetector } from "../harness/detector.ts";
import { eventually } from "../harness/process.ts";
import { freePort } from "../harness/ports.ts";
import { fullArchive } from "../harness/replay_fixtures.ts";
import { makeTestVideo } from "../harness/test_video.ts";

function spooledRedis(spoolDir: string): number {
  let n = 0;
  try {
    for (const d of Deno.readDirSync(spoolDir)) {
      if (!d.isDirectory || !d.name.startsWith("redis-")) continue;
      for (const f of Deno.readDirSync(`${spoolDir}/${d.name}`)) {
        if (/^\d+\.json$/.test(f.name)) n++;
      }
    }
  } catch {
    // not created yet
  }
  return n;
}

Deno.test("replay --out: SIGKILL loses at most the line in flight", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replay_out_kill_" });
  const spoolDir = `${dir}/spool`;
  const out = `${dir}/frames.jsonl`;
  try {
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 6 });
    const mpta = await fullArchive(dir);
    // Nothing listens on these ports: every write goes to the spool at once.
    const child = runDetector(
      ["replay", video.path, "--mpta", mpta, "--out", out, "--spool-dir", spoolDir],
      {
        DETECTOR_REDIS_URL: `redis://127.0.0.1:${freePort()}/0`,
        DETECTOR_POSTGRES_URL: `postgres://u@127.0.0.1:${freePort()}/db`,
      },
    );
    try {
      await eventually(() => spooledRedis(spoolDir) >= 4, "Redis writes spooled", 120_000, 5);
      child.proc.kill("SIGKILL");
      await child.status;
    } finally {
      await child.stop(500);
    }
    const spooled = spooledRedis(spoolDir);
    const text = await Deno.readTextFile(out);
    const whole = text.endsWith("\n") ? text : text.slice(0, text.lastIndexOf("\n") + 1);
    // deno-lint-ignore no-explicit-any
    const lines = whole.split("\n").filter(Boolean).map((l) => JSON.parse(l) as any);
    lines.forEach((l, i) => assert.equal(l.frame, lines[0].frame + i, "frames in order"));
    // deno-lint-ignore no-explicit-any
    const redisWrites = (l: any) =>
      (l.writes ?? []).filter((w: { op: string }) => w.op === "set" || w.op === "publish").length;
    const inFile = lines.reduce((s, l) => s + redisWrites(l), 0);
    const perFrame = Math.max(2, ...lines.map(redisWrites));
    assert.ok(
      spooled <= inFile + perFrame,
      `${spooled} Redis writes spooled but only ${inFile} listed in ${lines.length} lines`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
