/**
 * SIGTERM ends `replay` within a bounded time whatever its servers do: a Redis that refuses every
 * new client (maxclients reached) and a PostgreSQL that accepts connections and never answers.
 * The writes it could not send are in the spool afterwards.
 */
import assert from "node:assert/strict";
import { runDetector } from "../harness/detector.ts";
import { eventually } from "../harness/process.ts";
import { startRedis } from "../harness/redis.ts";
import { fullArchive } from "../harness/replay_fixtures.ts";
import { makeTestVideo } from "../harness/test_video.ts";

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

/** A TCP server that accepts every connection and never sends a byte (a hung PostgreSQL). */
function silentServer(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of listener) held.push(c);
    } catch { /* closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      listener.close();
      for (const c of held) {
        try {
          c.close();
        } catch { /* gone */ }
      }
    },
  };
}

Deno.test("replay: SIGTERM ends it within the shutdown timeout with Redis refusing clients and PostgreSQL hanging", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shutdown_bounded_" });
  const redis = await startRedis({ args: ["--maxclients", "1"] });
  const pg = silentServer();
  const spoolDir = `${dir}/spool`;
  try {
    const holder = await redis.client(); // the only client slot
    assert.ok(holder.isReady);
    const video = await makeTestVideo(`${dir}/traffic.mp4`, { passes: 4 });
    const mpta = await fullArchive(dir);
    const child = runDetector(
      [
        "replay",
        video.path,
        "--mpta",
        mpta,
        "--realtime",
        "--out",
        `${dir}/frames.jsonl`,
        "--spool-dir",
        spoolDir,
        "--shutdown-timeout",
        "5s",
      ],
      {
        DETECTOR_REDIS_URL: redis.url,
        DETECTOR_POSTGRES_URL: `postgres://u:p@127.0.0.1:${pg.port}/db`,
      },
    );
    try {
      await eventually(() => spooled(spoolDir, "redis") >= 1, "Redis writes spooled", 60_000);
      child.proc.kill("SIGTERM");
      const exited = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 20_000)),
      ]);
      assert.ok(exited, `still running 20 s after SIGTERM:\n${child.output()}`);
      assert.ok(spooled(spoolDir, "redis") >= 1, child.output());
      assert.doesNotMatch(child.output(), /:p@/, "no password in the output");
    } finally {
      await child.stop(1000);
    }
  } finally {
    pg.close();
    await redis.close();
    await Deno.remove(dir, { recursive: true });
  }
});
