import assert from "node:assert/strict";
import { runDetector, startDetector } from "../harness/detector.ts";
import { freePort } from "../harness/ports.ts";
import type { Child } from "../harness/process.ts";
import { VERSION } from "../../src/version.ts";

const demo = ["--source", "cam=testpattern:?fps=2&size=64x48"];
/** The settings under test, blanked so that the caller's environment cannot leak in. */
const clean = { HOST: "", PORT: "", TARGET_FPS: "", MAX_FRAME_AGE_S: "", FRAMES_DIR_ABS: "" };

async function finished(child: Child): Promise<{ code: number; out: string }> {
  const timer = setTimeout(() => child.stop(), 30_000);
  const status = await child.status;
  clearTimeout(timer);
  return { code: status.code, out: child.output() };
}

/** Starts serve without the harness' `--port 0`, for tests about port selection. */
async function serveUntilListening(args: string[], env: Record<string, string>) {
  const child = runDetector(["serve", ...demo, ...args], { ...clean, ...env });
  try {
    const m = await child.waitFor(/listening on (http:\/\/[^\s]+)|error|ERROR/, 30_000);
    return { child, url: m[1] };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

Deno.test("--help lists serve, serve --help documents flags, env and routes", async () => {
  const top = await finished(runDetector(["--help"]));
  assert.equal(top.code, 0, top.out);
  assert.match(top.out, /Usage: detector/);
  assert.match(top.out, /^\s+serve\b/m);

  const serve = await finished(runDetector(["serve", "--help"]));
  assert.equal(serve.code, 0, serve.out);
  for (
    const text of [
      "--source <NAME=SPEC>",
      "--host <addr>",
      "--port <n>",
      "--target-fps <n>",
      "--max-frame-age <s>",
      "FRAMES_DIR_ABS",
      "TARGET_FPS",
      "MAX_FRAME_AGE_S",
      "HOST",
      "PORT",
      "127.0.0.1",
      "8080",
      "/cameras/NAME/events",
      "testpattern:",
    ]
  ) {
    assert.ok(serve.out.includes(text), `serve --help lacks ${text}:\n${serve.out}`);
  }
});

Deno.test("--version prints the version", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await finished(runDetector([flag]));
    assert.equal(r.code, 0);
    assert.equal(r.out.trim(), VERSION);
  }
});

Deno.test("serve binds 127.0.0.1:8080 by default", async () => {
  const { child, url } = await serveUntilListening([], {});
  try {
    if (url) {
      assert.equal(url, "http://127.0.0.1:8080");
    } else {
      // Something else holds 8080 on this machine: the error still shows the default.
      assert.match(child.output(), /port 8080 on 127\.0\.0\.1 is already in use/);
    }
  } finally {
    await child.stop();
  }
});

Deno.test("HOST and PORT are honoured and flags win over them", async () => {
  const envPort = freePort();
  const a = await serveUntilListening([], { HOST: "127.0.0.2", PORT: String(envPort) });
  try {
    assert.equal(a.url, `http://127.0.0.2:${envPort}`, a.child.output());
    assert.equal((await fetch(`${a.url}/healthz`)).status, 200);
  } finally {
    await a.child.stop();
  }
  const flagPort = freePort();
  const b = await serveUntilListening(
    ["--host", "127.0.0.3", "--port", String(flagPort)],
    { HOST: "127.0.0.2", PORT: String(envPort) },
  );
  try {
    assert.equal(b.url, `http://127.0.0.3:${flagPort}`, b.child.output());
    assert.equal((await fetch(`${b.url}/healthz`)).status, 200);
  } finally {
    await b.child.stop();
  }
});

Deno.test("TARGET_FPS and MAX_FRAME_AGE_S are honoured and flags win over them", async () => {
  const env = { ...clean, TARGET_FPS: "7", MAX_FRAME_AGE_S: "3" };
  const a = await startDetector(["serve", ...demo], env);
  try {
    const health = await (await fetch(`${a.url}/healthz`)).json();
    assert.equal(health.targetFps, 7);
    assert.match(a.output(), /listening on .*targetFps=7 maxFrameAgeS=3\b/);
  } finally {
    await a.stop();
  }
  const b = await startDetector(
    ["serve", ...demo, "--target-fps", "2.5", "--max-frame-age", "0"],
    env,
  );
  try {
    const health = await (await fetch(`${b.url}/healthz`)).json();
    assert.equal(health.targetFps, 2.5);
    assert.match(b.output(), /listening on .*targetFps=2\.5 maxFrameAgeS=0\b/);
  } finally {
    await b.stop();
  }
});

Deno.test("FRAMES_DIR_ABS serves the folder as camera 'frames' unless --source is given", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve_env_" });
  try {
    const a = await startDetector(["serve"], { ...clean, FRAMES_DIR_ABS: dir });
    try {
      const cams = await (await fetch(`${a.url}/cameras`)).json();
      assert.deepEqual(cams.map((c: { name: string }) => c.name), ["frames"]);
      assert.equal(cams[0].source, `dir:${dir}`);
      const snap = await fetch(`${a.url}/snapshot.jpg`);
      assert.equal(snap.status, 503, "an empty folder has no frame yet");
      assert.equal(snap.headers.get("retry-after"), "1");
      assert.match((await snap.json()).error, /no frame from camera "frames" yet/);
    } finally {
      await a.stop();
    }
    const b = await startDetector(["serve", ...demo], { ...clean, FRAMES_DIR_ABS: dir });
    try {
      const cams = await (await fetch(`${b.url}/cameras`)).json();
      assert.deepEqual(cams.map((c: { name: string }) => c.name), ["cam"]);
    } finally {
      await b.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad settings stop serve at startup with an error naming them", async () => {
  const cases: { args: string[]; env?: Record<string, string>; error: RegExp }[] = [
    { args: demo, env: { TARGET_FPS: "fast" }, error: /TARGET_FPS expects a number.*"fast"/ },
    { args: demo, env: { PORT: "70000" }, error: /PORT expects a number between 0 and 65535/ },
    { args: demo, env: { MAX_FRAME_AGE_S: "-1" }, error: /MAX_FRAME_AGE_S expects a duration/ },
    { args: [...demo, "--port", "-1"], error: /--port expects a number between 0 and 65535/ },
    { args: [...demo, "--target-fps", "0"], error: /--target-fps expects a number/ },
    { args: [], error: /no cameras: give --source NAME=SPEC/ },
    { args: ["--source", "nonsense"], error: /--source expects NAME=SPEC, got "nonsense"/ },
    {
      args: ["--source", "a=carrier-pigeon://x"],
      error: /unknown source "carrier-pigeon:\/\/x" for camera "a"/,
    },
    { args: [...demo, ...demo], error: /camera name "cam" is given twice/ },
    {
      args: ["--source", "bad name!=testpattern:"],
      error: /camera name "bad name!" must be 1-64 characters/,
    },
  ];
  for (const c of cases) {
    const r = await finished(runDetector(["serve", ...c.args], { ...clean, ...c.env }));
    assert.notEqual(r.code, 0, `${JSON.stringify(c)} should fail:\n${r.out}`);
    assert.match(r.out, c.error, JSON.stringify(c));
    assert.doesNotMatch(r.out, /listening on/);
  }
});

Deno.test("a port already in use is a clear startup error", async () => {
  const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (holder.addr as Deno.NetAddr).port;
    const r = await finished(runDetector(["serve", ...demo, "--port", String(port)], clean));
    assert.equal(r.code, 2);
    assert.match(r.out, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    holder.close();
  }
});
