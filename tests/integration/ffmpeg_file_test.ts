/** The ffmpeg source reading local video files: speed, loop, MJPEG pass-through, bad files. */
import assert from "node:assert/strict";
import type { Frame } from "../../src/core/frame.ts";
import { FrameCache } from "../../src/core/frame_cache.ts";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { FfmpegSource } from "../../src/sources/ffmpeg_source.ts";
import { liveChildPids } from "../../src/sources/ffmpeg_process.ts";
import { frameJpeg } from "../../src/sources/frame_jpeg.ts";
import { createSource, SourceSpecError } from "../../src/sources/registry.ts";
import { eventually } from "../harness/process.ts";
import { makeCorruptVideo, makeTestVideo, readFrameIndex } from "../harness/video.ts";

function detail(src: { status(): { detail?: Record<string, unknown> } }) {
  return src.status().detail ?? {};
}

Deno.test("file: read as fast as possible delivers every frame, then ends", async () => {
  const file = await makeTestVideo({ fps: 10, seconds: 3 });
  const cache = new FrameCache();
  const indexes: number[] = [];
  const pending: Promise<void>[] = [];
  cache.subscribe((f) => {
    pending.push(readFrameIndex(f.jpeg).then((n) => void indexes.push(n ?? -1)));
  });
  const src = new FfmpegSource("f", `${file}#re=0`, cache, {});
  src.start();
  await src.done;
  await Promise.all(pending);
  assert.equal(src.status().state, "stopped");
  assert.equal(detail(src).ended, true);
  assert.equal(detail(src).ffmpeg, "ended");
  assert.equal(cache.stats("f")!.framesIn, 30);
  assert.deepEqual(indexes.sort((a, b) => a - b), [...Array(30).keys()]);
  await src.stop();
  assert.deepEqual(liveChildPids("ffmpeg"), []);
});

Deno.test("file: loop=1 starts again at the end; fps and scale options apply", async () => {
  const file = await makeTestVideo({ fps: 10, seconds: 3 });
  const cache = new FrameCache();
  const src = createSource("f", `file:${file}#re=0&loop=1&fps=5&scale=160x`, cache, {});
  try {
    src.start();
    await eventually(
      () => (cache.stats("f")?.framesIn ?? 0) > 40,
      "more frames than one pass",
      20_000,
    );
    const f = cache.latest("f")!;
    assert.equal(f.width, 160);
    assert.equal(f.height, 120);
    assert.equal(src.status().state, "live");
  } finally {
    await src.stop();
  }
});

Deno.test("file: a bare path plays at native speed (-re) by default", async () => {
  const file = await makeTestVideo({ fps: 10, seconds: 3 });
  const cache = new FrameCache();
  const src = createSource("f", file, cache, {});
  try {
    src.start();
    await eventually(() => cache.latest("f"), "a first frame", 10_000);
    const t0 = Date.now();
    const n0 = cache.stats("f")!.framesIn;
    await new Promise((r) => setTimeout(r, 1000));
    const got = cache.stats("f")!.framesIn - n0;
    // 10 fps at native speed: about 10 frames in a second, far from the hundreds of a fast read.
    assert.ok(got >= 3 && got <= 25, `${got} frames in ${Date.now() - t0} ms`);
  } finally {
    await src.stop();
  }
});

Deno.test("file: MJPEG input is passed through without re-encoding", async () => {
  const file = await makeTestVideo({ fps: 10, seconds: 2, codec: "mjpeg", container: "mkv" });
  const cache = new FrameCache();
  const src = new FfmpegSource("m", `${file}#re=0`, cache, {});
  src.start();
  await src.done;
  assert.equal(detail(src).mode, "copy");
  assert.equal(detail(src).ended, true);
  assert.equal(cache.stats("m")!.framesIn, 20);
  const f = cache.latest("m")!;
  assert.ok(checkJpeg(f.jpeg).ok);
  assert.equal(await readFrameIndex(f.jpeg), 19);
  await src.stop();
});

Deno.test("file: corrupt, truncated and missing files get a clear status", async () => {
  const dir = await Deno.makeTempDir({ prefix: "detector-ffmpeg-file-" });
  const good = await makeTestVideo({ fps: 10, seconds: 3 });
  const garbage = `${dir}/garbage.mp4`;
  const truncated = `${dir}/truncated.mp4`;
  await makeCorruptVideo(garbage, "garbage");
  await makeCorruptVideo(truncated, "truncated", good);
  const cache = new FrameCache();
  const cases: [string, string, RegExp][] = [
    [garbage, "invalid_input", /invalid or corrupt video input/],
    [truncated, "invalid_input", /invalid or corrupt video input/],
    [`${dir}/missing.mp4`, "no_such_file", /file not found/],
  ];
  const sources = cases.map(([path], i) => new FfmpegSource(`c${i}`, path, cache, {}));
  try {
    for (const s of sources) s.start();
    for (const [i, [, code, message]] of cases.entries()) {
      const s = sources[i];
      await eventually(() => detail(s).reason === code, `${cases[i][0]}: ${code}`, 20_000);
      assert.match(s.status().lastError ?? "", message);
      assert.equal(cache.latest(`c${i}`), undefined);
    }
  } finally {
    await Promise.all(sources.map((s) => s.stop()));
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(liveChildPids("ffmpeg"), []);
});

Deno.test("file: bad source options are refused naming the option", () => {
  const cache = new FrameCache();
  assert.throws(() => createSource("x", "/v.mp4#fsp=5", cache), /unknown source option "fsp"/);
  assert.throws(() => createSource("x", "/v.mp4#fps=abc", cache), /fps=abc/);
  assert.throws(() => createSource("x", "/v.mp4#scale=big", cache), /scale=big/);
  assert.throws(() => createSource("x", "/v.mp4#codec=copy&fps=2", cache), /codec=copy/);
  assert.throws(
    () => createSource("x", "rtsp://cam/s#transport=carrier-pigeon", cache),
    /rtsp transport "carrier-pigeon"/,
  );
  assert.throws(() => createSource("x", "/v.txt", cache), SourceSpecError);
});

Deno.test("file: output rgb delivers every frame as raw RGB of its size; MJPEG input stays JPEG", async () => {
  const file = await makeTestVideo({ width: 320, height: 240, fps: 10, seconds: 3 });
  const cache = new FrameCache();
  const frames: Frame[] = [];
  cache.subscribe((f) => void frames.push(f));
  const src = new FfmpegSource("r", `${file}#re=0`, cache, { output: "rgb" });
  src.start();
  await src.done;
  assert.equal(detail(src).mode, "raw");
  assert.equal(detail(src).ended, true);
  assert.equal(frames.length, 30);
  for (const f of frames) {
    assert.deepEqual([f.width, f.height, f.rgb?.byteLength, f.jpeg.byteLength], [
      320,
      240,
      230400,
      0,
    ]);
  }
  assert.equal(await readFrameIndex(await frameJpeg(frames[29])), 29, "the last frame, intact");
  await src.stop();

  const mjpeg = await makeTestVideo({ fps: 10, seconds: 2, codec: "mjpeg", container: "mkv" });
  const copy = new FfmpegSource("m", `${mjpeg}#re=0`, cache, { output: "rgb" });
  copy.start();
  await copy.done;
  assert.equal(detail(copy).mode, "copy");
  const f = cache.latest("m")!;
  assert.equal(f.rgb, undefined);
  assert.ok(checkJpeg(f.jpeg).ok);
  await copy.stop();
});
