/**
 * `serve --config cameras.yaml`: cameras and settings from the file, flags over it, errors naming
 * file, line and key, and SIGHUP reloading the cameras while an MJPEG client keeps streaming.
 */
import assert from "node:assert/strict";
import { parseCamerasFile } from "../../src/config/cameras_file.ts";
import { runDetector, startDetector } from "../harness/detector.ts";
import { eventually } from "../harness/process.ts";
import { MultipartParser } from "../../bench/lib/mjpeg_parser.ts";

interface CameraView {
  name: string;
  width: number | null;
  source: string;
}

async function cameras(url: string): Promise<CameraView[]> {
  return await (await fetch(`${url}/cameras`)).json();
}

Deno.test("the example cameras file covers every source kind and parses", async () => {
  const text = await Deno.readTextFile(new URL("../../cameras.example.yaml", import.meta.url));
  const env = (n: string) => n === "DOOR_PASSWORD" ? "p@ss word" : undefined;
  const dir = await Deno.makeTempDir();
  try {
    const withSecret = text.replace("/run/secrets/garage", `${dir}/garage`);
    await Deno.writeTextFile(`${dir}/garage`, "g4rage\n");
    const f = await parseCamerasFile(withSecret, "cameras.example.yaml", env);
    const specs = Object.fromEntries(f.cameras.map((c) => [c.name, c.spec]));
    assert.equal(
      specs.door,
      "rtsp://viewer:p%40ss%20word@192.168.1.20:554/stream1#fps=10&scale=1280x720",
    );
    assert.equal(specs.garage, "mjpeg+http://admin:g4rage@192.168.1.22/video.mjpg");
    const { sourceKindOf } = await import("../../src/sources/registry.ts");
    const kinds = new Set(f.cameras.map((c) => sourceKindOf(c.spec)?.name));
    assert.deepEqual([...kinds].sort(), [
      "dir",
      "ffmpeg",
      "http",
      "mjpeg-http",
      "stream",
      "tcp",
      "testpattern",
      "v4l2",
    ]);
    assert.equal(f.settings.values["target-fps"], 15);
    assert.equal(f.settings.lines?.["target-fps"], 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --config: cameras and settings from the file, flags win, SIGHUP reloads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cameras_file_" });
  const file = `${dir}/cameras.yaml`;
  await Deno.writeTextFile(
    file,
    [
      "target-fps: 12",
      "cameras:",
      "  keep: testpattern:?fps=8&size=160x90",
      "  change:",
      "    source: testpattern:?fps=4&size=64x48",
      "  drop: testpattern:?fps=2&size=32x24",
      "  flagged: testpattern:?fps=2&size=32x24",
    ].join("\n"),
  );
  const d = await startDetector([
    "serve",
    "--config",
    file,
    "--source",
    "flagged=testpattern:?fps=2&size=48x32",
    "--reload-api",
  ]);
  const res = await fetch(`${d.url}/cameras/keep/stream.mjpg`);
  const reader = res.body!.getReader();
  let reading = true;
  try {
    await eventually(async () => (await cameras(d.url)).every((c) => c.width), "frames of all");
    const before = await cameras(d.url);
    assert.deepEqual(before.map((c) => c.name), ["keep", "change", "drop", "flagged"]);
    assert.equal(before.find((c) => c.name === "flagged")!.width, 48, "--source wins");
    assert.match(await (await fetch(`${d.url}/healthz`)).text(), /"targetFps":12/);

    // The MJPEG client of an unchanged camera reads on through the reload.
    const seqs: number[] = [];
    const parser = new MultipartParser((p) => seqs.push(Number(p.headers["x-frame-seq"])));
    const pump = (async () => {
      while (reading) {
        const { value, done } = await reader.read();
        if (done && reading) throw new Error("the unchanged camera's stream ended in a reload");
        if (done) return;
        parser.push(value);
      }
    })();
    await eventually(() => seqs.length >= 3, "the stream flowing");

    await Deno.writeTextFile(
      file,
      [
        "target-fps: 12",
        "cameras:",
        "  keep: testpattern:?fps=8&size=160x90",
        "  change: {source: 'testpattern:?fps=4&size=80x40'}",
        "  added: testpattern:?fps=4&size=40x20",
        "  flagged: testpattern:?fps=2&size=32x24",
      ].join("\n"),
    );
    const atReload = seqs.length;
    Deno.kill(d.pid, "SIGHUP");
    await d.waitFor(
      /cameras file reloaded .*added=added removed=drop restarted=change unchanged=2/,
    );
    await eventually(async () => {
      const c = await cameras(d.url);
      return c.find((x) => x.name === "change")?.width === 80 &&
        c.find((x) => x.name === "added")?.width === 40;
    }, "the changed camera restarted and the added one started");
    const after = await cameras(d.url);
    assert.deepEqual(after.map((c) => c.name).sort(), ["added", "change", "flagged", "keep"]);
    assert.equal(after.find((c) => c.name === "flagged")!.width, 48, "--source still wins");
    await eventually(() => seqs.length >= atReload + 8, "the unchanged stream going on");
    for (let i = 1; i < seqs.length; i++) {
      assert.ok(seqs[i] === seqs[i - 1] + 1, `no gap or restart in the stream: ${seqs.join(",")}`);
    }

    // A broken file changes nothing; POST /api/reload answers with the error, then the result.
    await Deno.writeTextFile(file, "cameras:\n  keep: [unclosed\n");
    Deno.kill(d.pid, "SIGHUP");
    await d.waitFor(/cameras file not reloaded; the cameras keep running .*cameras\.yaml:3/);
    assert.equal((await cameras(d.url)).length, 4);
    const bad = await fetch(`${d.url}/api/reload`, { method: "POST" });
    assert.equal(bad.status, 422);
    assert.match((await bad.json()).error, /cameras\.yaml:3/);
    await Deno.writeTextFile(file, "cameras:\n  keep: testpattern:?fps=8&size=160x90\n");
    const ok = await fetch(`${d.url}/api/reload`, { method: "POST" });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), {
      reloaded: true,
      added: [],
      removed: ["change", "added"],
      restarted: [],
      unchanged: ["keep", "flagged"],
    });
    assert.equal((await cameras(d.url)).length, 2);
    reading = false;
    await reader.cancel();
    await pump;
  } finally {
    reading = false;
    await reader.cancel().catch(() => {});
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve --config: errors name the file, the line and the key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cameras_file_" });
  try {
    const cases: [string, RegExp][] = [
      ["port: 8080\ntarget-fps: fast\n", /c\.yaml:2: "target-fps" expects a number/],
      ["port: 1\nbogus: 2\n", /c\.yaml:2: unknown key "bogus"/],
      ["cameras:\n  a: [1\n", /c\.yaml:3:1: /],
      ["cameras:\n  x y: testpattern:?fps=1\n", /c\.yaml:2: "cameras\.x y": camera names/],
      [
        "cameras:\n  a:\n    source: rtsp://cam/x\n    colour: red\n",
        /c\.yaml:2: "cameras\.a".*unknown key "colour"/,
      ],
      [
        "cameras:\n  a:\n    source: dir:/x\n    fps: 3\n",
        /c\.yaml:2: "cameras\.a".*fps and size apply to .* not dir sources/,
      ],
      [
        "cameras:\n  a:\n    source: rtsp://u@cam/x\n    password-env: NOT_SET_ANYWHERE\n",
        /c\.yaml:2: "cameras\.a".*NOT_SET_ANYWHERE \(password-env\) is not set/,
      ],
      ["cameras:\n  a: nonsense://x\n", /unknown source "nonsense:\/\/x" for camera "a"/],
    ];
    for (const [text, re] of cases) {
      await Deno.writeTextFile(`${dir}/c.yaml`, text);
      const child = runDetector(["serve", "--port", "0", "--config", `${dir}/c.yaml`]);
      const status = await child.status;
      assert.notEqual(status.code, 0, text);
      assert.match(child.output(), re, text);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
