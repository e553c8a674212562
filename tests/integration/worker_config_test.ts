/** `detector run --config config.json`: the original worker's keys, environment and flags on top. */
import assert from "node:assert/strict";
import { connectBackend } from "../harness/backend_client.ts";
import { runDetector, startDetector } from "../harness/detector.ts";
import { eventually } from "../harness/process.ts";
import { startSilentPeer } from "../harness/rtsp_server.ts";

Deno.test({
  name: "run --config: original keys apply, env beats the file, flags beat env; startup line",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        poll_interval_ms: 250,
        max_streams: 5,
        target_fps: 2,
        reconnect_interval_sec: 7,
        max_retries: 3,
        analysis_size: 960,
        spool_dir: `${dir}/spool-from-file`,
        unknown_key: 1,
      }),
    );
    const detector = await startDetector(
      [
        "run",
        "--config",
        config,
        "--host",
        "127.0.0.1",
        "--max-streams",
        "1",
        "--model-dir",
        `${dir}/m`,
      ],
      { DETECTOR_MAX_STREAMS: "3", DETECTOR_POLL_INTERVAL_MS: "300" },
    );
    try {
      await detector.waitFor(/ settings /);
      const out = detector.output();
      assert.match(
        out,
        /listening on http:\/\/127\.0\.0\.1:\d+ .*backend=auto threads=.*spool=\S*spool-from-file/,
      );
      assert.match(
        out,
        /settings pollIntervalMs=300 targetFps=2 reconnectIntervalSec=7 maxRetries=3/,
      );
      assert.match(out, /maxStreams=1/);
      assert.match(out, / settings .*analysisSize=960/);
      assert.match(
        out,
        /config file keys not known to this version are ignored .*keys=unknown_key/,
      );
      const backend = await connectBackend(detector.url);
      try {
        const sub = (id: string) => ({
          subscriptionIdentifier: id,
          rtspUrl: "testpattern:?fps=5&size=160x90",
          modelUrl: `${dir}/none.mpta`,
          modelId: 1,
        });
        backend.send({ type: "setSubscriptionList", subscriptions: [sub("d;a"), sub("d;b")] });
        const refusal = await backend.waitFor(
          (m) => m.type === "error" && /max_streams/.test(m.message),
          "max_streams refusal",
        );
        assert.match(refusal.message, /max_streams \(1\) reached: subscription "d;b"/);
      } finally {
        await backend.close();
      }
    } finally {
      assert.equal((await detector.stop()).code, 0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("run --config with a bad value or a broken file: exit code 2, message names it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, '{"max_streams": "lots"}');
    const bad = runDetector(["run", "--config", `${dir}/bad.json`, "--port", "0"]);
    assert.equal((await bad.status).code, 2);
    assert.match(
      bad.output(),
      /bad\.json: "max_streams" expects a number between 1 and 10000, got "lots"/,
    );
    await Deno.writeTextFile(`${dir}/broken.json`, "{");
    const broken = runDetector(["run", "--config", `${dir}/broken.json`, "--port", "0"]);
    assert.equal((await broken.status).code, 2);
    assert.match(broken.output(), /broken\.json is not valid JSON/);
    const env = runDetector(["run", "--port", "0"], { DETECTOR_HEARTBEAT_SEC: "often" });
    assert.equal((await env.status).code, 2);
    assert.match(env.output(), /environment variable DETECTOR_HEARTBEAT_SEC expects a duration/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "run: DETECTOR_STALL_TIMEOUT=3s reaches the camera readers (a silent RTSP camera restarts)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const peer = startSilentPeer();
    const detector = await startDetector(
      ["run", "--host", "127.0.0.1", "--model-dir", `${dir}/m`, "--spool-dir", `${dir}/s`],
      { DETECTOR_STALL_TIMEOUT: "3s" },
    );
    try {
      await detector.waitFor(/ settings .*stallTimeoutMs=3000/);
      const backend = await connectBackend(detector.url);
      try {
        backend.send({
          type: "setSubscriptionList",
          subscriptions: [{
            subscriptionIdentifier: "d;silent",
            rtspUrl: peer.url,
            modelUrl: `${dir}/none.mpta`,
            modelId: 1,
          }],
        });
        // The reader's own stall check fires with the configured 3 s, not the 10 s default,
        // and ffmpeg is started again (a second connection to the camera).
        await detector.waitFor(/no frame, killing ffmpeg .*timeoutMs=3000/, 30_000);
        await eventually(() => peer.accepted() >= 2, "a restarted ffmpeg reconnects", 30_000);
        assert.match(detector.output(), /stalled: no frame for 3 s, ffmpeg restarted/);
      } finally {
        await backend.close();
      }
    } finally {
      assert.equal((await detector.stop()).code, 0);
      peer.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
