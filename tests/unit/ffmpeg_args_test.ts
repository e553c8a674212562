import assert from "node:assert/strict";
import {
  analysisFit,
  ffmpegArgs,
  isFfmpegSpec,
  parseFfmpegSpec,
} from "../../src/sources/ffmpeg_args.ts";
import { nativeSize } from "../../src/sources/ffmpeg_source.ts";
import {
  classifyFailure,
  FfmpegLogParser,
  parseStreamLine,
} from "../../src/sources/ffmpeg_stderr.ts";
import { StderrRing, urlSecrets } from "../../src/sources/stderr_ring.ts";
import { cropRegion } from "../../src/sources/crop.ts";

function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

Deno.test("ffmpeg args: rtsp defaults to TCP and MJPEG to a pipe", () => {
  const args = ffmpegArgs(parseFfmpegSpec("rtsp://u:p@cam/live", { timeoutMs: 5000 }));
  assert.equal(after(args, "-rtsp_transport"), "tcp");
  assert.equal(after(args, "-timeout"), "5000000");
  assert.equal(after(args, "-i"), "rtsp://u:p@cam/live");
  assert.equal(after(args, "-c:v"), "mjpeg");
  assert.equal(after(args, "-q:v"), "5");
  assert.equal(after(args, "-f"), "image2pipe");
  assert.equal(args.at(-1), "pipe:1");
  assert.ok(!args.includes("-re"));
  assert.ok(!args.includes("-vf"));
});

Deno.test("ffmpeg args: transport, quality, fps and scale from flags and the fragment", () => {
  const s = parseFfmpegSpec("rtsps://cam/live#fps=5&scale=640x&transport=udp", {
    jpegQuality: 3,
  });
  assert.equal(s.input, "rtsps://cam/live");
  const args = ffmpegArgs(s);
  assert.equal(after(args, "-rtsp_transport"), "udp");
  assert.equal(after(args, "-vf"), "fps=5,scale=640:-2");
  assert.equal(after(args, "-q:v"), "3");
  const flagged = parseFfmpegSpec("rtsp://cam/live", { rtspTransport: "http" });
  assert.equal(flagged.rtspTransport, "http");
});

Deno.test("ffmpeg args: files at native speed by default, fast and looped on request", () => {
  const slow = ffmpegArgs(parseFfmpegSpec("/videos/a.mp4"));
  assert.ok(slow.includes("-re"));
  assert.ok(!slow.includes("-stream_loop"));
  const fast = ffmpegArgs(parseFfmpegSpec("file:///videos/a%20b.mkv#re=0&loop=1"));
  assert.ok(!fast.includes("-re"));
  assert.equal(after(fast, "-stream_loop"), "-1");
  assert.equal(after(fast, "-i"), "/videos/a b.mkv");
  assert.equal(parseFfmpegSpec("file:clips/x.mov").input, "clips/x.mov");
});

Deno.test("ffmpeg args: copy mode passes MJPEG through", () => {
  const s = parseFfmpegSpec("ffmpeg:http://cam/video.mjpg#codec=copy");
  assert.equal(s.kind, "http");
  const args = ffmpegArgs(s);
  assert.equal(after(args, "-c:v"), "copy");
  assert.ok(!args.includes("-q:v"));
  assert.ok(args.includes("-rw_timeout"));
});

Deno.test("ffmpeg specs: which specs are video", () => {
  for (
    const yes of [
      "rtsp://a/b",
      "RTSPS://a/b",
      "rtmp://a/b",
      "srt://h:1",
      "udp://h:1",
      "ffmpeg:udp://x",
      "file:/a.mp4",
      "/a/b.MKV",
    ]
  ) {
    assert.ok(isFfmpegSpec(yes), yes);
  }
  for (const no of ["http://a/b.jpg", "dir:/x", "/a/b.jpg", "testpattern:", "tcp://h:1"]) {
    assert.ok(!isFfmpegSpec(no), no);
  }
});

Deno.test("ffmpeg stderr: stream facts and failure reasons", () => {
  assert.deepEqual(
    parseStreamLine(
      "  Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], 29.97 fps, 29.97 tbr, 90k tbn",
    ),
    { codec: "h264", width: 1920, height: 1080, fps: 29.97 },
  );
  const p = new FfmpegLogParser();
  p.feed("Input #0, rtsp, from 'rtsp://u:***@cam/live':");
  assert.ok(
    p.feed("  Stream #0:0: Video: mjpeg (Baseline), yuvj420p(pc), 640x480, 15 tbr, 90k tbn"),
  );
  p.feed("Output #0, image2pipe, to 'pipe:1':");
  p.feed("  Stream #0:0: Video: mjpeg, yuvj420p(pc), 640x480, q=2-31, 15 fps, 15 tbn");
  assert.equal(p.input?.codec, "mjpeg");
  assert.equal(p.input?.fps, 15);
  assert.equal(p.format, "rtsp");
  assert.equal(
    classifyFailure(["[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized"])?.code,
    "unauthorized",
  );
  assert.equal(classifyFailure(["x: Server returned 404 Not Found"])?.code, "not_found");
  assert.equal(
    classifyFailure(["Connection to tcp://h:554 failed: Connection refused"])?.code,
    "refused",
  );
  assert.equal(
    classifyFailure(["setpriv: failed to execute ffmpeg: No such file or directory"])?.code,
    "no_ffmpeg",
  );
  assert.equal(classifyFailure(["/v/a.mp4: No such file or directory"])?.code, "no_such_file");
  assert.equal(classifyFailure(["all good"]), undefined);
});

Deno.test("stderr ring: bounded, split on CR and LF, secrets removed", () => {
  const ring = new StderrRing(3, 40, urlSecrets("rtsp://admin:p%40ss@cam/live"));
  const enc = new TextEncoder();
  ring.push(enc.encode("one\rtwo\nInput from 'rtsp://admin:p%40ss@cam/live'\nthe password p@ss"));
  ring.push(enc.encode(" again\nfive\n"));
  assert.deepEqual(ring.tail(), [
    "Input from 'rtsp://admin:***@cam/live'",
    "the password *** again",
    "five",
  ]);
  assert.equal(ring.total, 5);
  ring.push(enc.encode("x".repeat(100) + "\n"));
  assert.equal(ring.tail(1)[0].length, 41);
});

Deno.test("crop: clamped to the frame, empty crops refused naming the fields", () => {
  assert.deepEqual(cropRegion({ x1: -5, y1: 10, x2: 700, y2: 20 }, 640, 480), {
    left: 0,
    top: 10,
    width: 640,
    height: 10,
  });
  assert.throws(() => cropRegion({ x1: 10, y1: 10, x2: 10, y2: 20 }, 640, 480), /is empty/);
  assert.throws(
    () => cropRegion({ x1: Number.NaN, y1: 0, x2: 1, y2: 1 }, 640, 480),
    /cropX1 must be a number/,
  );
});

Deno.test("ffmpeg args: no -fflags nobuffer (it drops the probed first keyframe)", () => {
  for (const spec of ["rtsp://cam/live", "ffmpeg:http://cam/video.mp4"]) {
    const args = ffmpegArgs(parseFfmpegSpec(spec));
    assert.ok(!args.includes("nobuffer"), args.join(" "));
    assert.ok(args.includes("-analyzeduration"));
  }
});

Deno.test("ffmpeg args: v4l2 devices get size, rate and format asked of the device", () => {
  const s = parseFfmpegSpec("v4l2:/dev/video0#size=1280x720&fps=15&format=mjpeg");
  assert.equal(s.kind, "v4l2");
  assert.equal(s.input, "/dev/video0");
  const args = ffmpegArgs(s, true);
  const i = args.indexOf("-i");
  assert.deepEqual(args.slice(args.indexOf("-f"), i + 2), [
    "-f",
    "v4l2",
    "-input_format",
    "mjpeg",
    "-video_size",
    "1280x720",
    "-framerate",
    "15",
    "-i",
    "/dev/video0",
  ]);
  assert.ok(args.includes("copy"), "the camera's MJPEG is passed through");
  assert.ok(!args.includes("-re"));
  const raw = ffmpegArgs(parseFfmpegSpec("v4l2:/dev/video2#format=yuyv422&scale=640x"));
  assert.ok(raw.includes("mjpeg") && raw.includes("scale=640:-2"), raw.join(" "));
  assert.throws(() => parseFfmpegSpec("v4l2:/dev/video0#size=big"), /size=big/);
  assert.throws(() => parseFfmpegSpec("v4l2:/dev/video0#format=bayer"), /format=bayer/);
  assert.throws(() => parseFfmpegSpec("v4l2:/dev/video0#loop=1"), /unknown source option "loop"/);
  assert.throws(() => parseFfmpegSpec("v4l2:video0"), /device path/);
});

Deno.test("ffmpeg stderr: missing and busy video devices are named", () => {
  assert.equal(
    classifyFailure([
      "[video4linux2,v4l2 @ 0x1] Cannot open video device /dev/video7: No such file or directory",
    ])?.code,
    "no_device",
  );
  assert.equal(
    classifyFailure(["[video4linux2,v4l2 @ 0x1] ioctl(VIDIOC_STREAMON): Device or resource busy"])
      ?.code,
    "device_busy",
  );
});

Deno.test("ffmpeg args: output rgb writes raw RGB24 frames (PPM), no MJPEG encode", () => {
  const args = ffmpegArgs(parseFfmpegSpec("rtsp://cam/live", { output: "rgb" }));
  assert.equal(after(args, "-vf"), "format=rgb24");
  assert.equal(after(args, "-c:v"), "ppm");
  assert.equal(after(args, "-f"), "image2pipe");
  assert.ok(!args.includes("mjpeg") && !args.includes("-q:v"), args.join(" "));
  const scaled = ffmpegArgs(parseFfmpegSpec("rtsp://cam/live#fps=5&scale=640x", { output: "rgb" }));
  assert.equal(after(scaled, "-vf"), "fps=5,scale=640:-2,format=rgb24");
  const copied = ffmpegArgs(parseFfmpegSpec("ffmpeg:http://cam/v.mjpg", { output: "rgb" }), true);
  assert.equal(after(copied, "-c:v"), "copy", "MJPEG input still passes through");
});

Deno.test("ffmpeg args: raw frames scaled down to the analysis size, never up; a spec's scale wins", () => {
  const args = ffmpegArgs(parseFfmpegSpec("rtsp://cam/live", { output: "rgb", analysisSize: 640 }));
  assert.equal(
    after(args, "-vf"),
    "scale='min(iw,640)':'min(ih,640)':force_original_aspect_ratio=decrease:flags=area,format=rgb24",
  );
  const own = ffmpegArgs(
    parseFfmpegSpec("rtsp://cam/live#scale=800x", { output: "rgb", analysisSize: 640 }),
  );
  assert.equal(after(own, "-vf"), "scale=800:-2,format=rgb24");
  const jpeg = ffmpegArgs(parseFfmpegSpec("rtsp://cam/live", { analysisSize: 640 }));
  assert.ok(!after(jpeg, "-vf")?.includes("scale"), "MJPEG output is never scaled for analysis");
  assert.deepEqual(analysisFit(1920, 1080, 640), { width: 640, height: 360 });
  assert.deepEqual(analysisFit(1080, 1920, 640), { width: 360, height: 640 });
  assert.deepEqual(analysisFit(320, 240, 640), { width: 320, height: 240 });
});

Deno.test("ffmpeg frames scaled for analysis keep the camera's size from the input's description", () => {
  const input = { codec: "h264", width: 1920, height: 1080 };
  assert.deepEqual(nativeSize({ width: 640, height: 360 }, input, 640), {
    width: 1920,
    height: 1080,
  });
  assert.equal(nativeSize({ width: 1920, height: 1080 }, input, 4096), undefined, "not scaled");
  assert.equal(nativeSize({ width: 640, height: 360 }, undefined, 640), "unknown");
  assert.equal(nativeSize({ width: 640, height: 360 }, { codec: "h264" }, 640), "unannounced");
  assert.match(
    (nativeSize({ width: 640, height: 480 }, input, 640) as { changed: string }).changed,
    /no longer 1920x1080 \(a 640x480 frame came\)/,
  );
});
