/**
 * Cameras that send few frames, as a browser sees them: a pushed camera with one frame, a camera
 * at 0.2 fps and one whose video ended must show their newest frame in the viewer at once (a
 * multipart part is drawn only when the boundary after it arrives). Frames are letterboxed, and
 * ffmpeg and curl read the same stream.
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import { launchChromium, type Page } from "../harness/chromium.ts";
import { type Detector, startDetector } from "../harness/detector.ts";
import { startFfmpeg } from "../harness/ffmpeg.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import { makeTestVideo } from "../harness/video.ts";
import { near, snapshotView, tileView } from "../harness/viewer_probe.ts";
import { MultipartParser } from "../../bench/lib/mjpeg_parser.ts";

const TOKEN = "upload-secret";
type Rgb = [number, number, number];

async function upload(d: Detector, camera: string, jpeg: Uint8Array): Promise<void> {
  const res = await fetch(`${d.url}/cameras/${camera}/image`, {
    method: "POST",
    headers: { "content-type": "image/jpeg", authorization: `Bearer ${TOKEN}` },
    body: jpeg as Uint8Array<ArrayBuffer>,
  });
  assert.equal(res.status, 200, await res.text());
}

/** Waits until the tile's centre shows `rgb`; returns how long that took. */
async function tileShows(page: Page, camera: string, rgb: Rgb, timeoutMs: number) {
  const t0 = performance.now();
  await eventually(
    async () => near((await tileView(page, camera)).center, rgb),
    `tile "${camera}" to show rgb(${rgb})`,
    timeoutMs,
    50,
  );
  return performance.now() - t0;
}

/** A portrait frame: red band on top, blue band at the bottom, green between. */
async function portraitJpeg(): Promise<Uint8Array> {
  const band = (rgb: Rgb) => ({
    create: {
      width: 180,
      height: 40,
      channels: 3 as const,
      background: { r: rgb[0], g: rgb[1], b: rgb[2] },
    },
  });
  const buf = await sharp({
    create: { width: 180, height: 320, channels: 3, background: { r: 0, g: 200, b: 0 } },
  }).composite([
    { input: band([220, 0, 0]), top: 0, left: 0 },
    { input: band([0, 0, 220]), top: 280, left: 0 },
  ]).jpeg({ quality: 90 }).toBuffer();
  return new Uint8Array(buf);
}

/** The colour at a CSS pixel of a screenshot (device scale 1). */
async function screenshotPixel(png: Uint8Array, x: number, y: number): Promise<Rgb> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const i = (Math.round(y) * info.width + Math.round(x)) * info.channels;
  return [data[i], data[i + 1], data[i + 2]];
}

/** Where the picture of an `object-fit: contain` <img> lands on screen. */
function contentBox(page: Page, selector: string) {
  return page.evaluate<{ left: number; top: number; width: number; height: number }>(`(() => {
    const img = document.querySelector(${JSON.stringify(selector)});
    const r = img.getBoundingClientRect();
    const s = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
    const w = img.naturalWidth * s, h = img.naturalHeight * s;
    return { left: r.left + (r.width - w) / 2, top: r.top + (r.height - h) / 2, width: w, height: h };
  })()`);
}

/** The top and bottom bands of the portrait frame are both on screen: nothing was cropped. */
async function wholeFrameVisible(page: Page, selector: string): Promise<void> {
  const box = await contentBox(page, selector);
  const png = await page.screenshot();
  const cx = box.left + box.width / 2;
  const top = await screenshotPixel(png, cx, box.top + box.height * 0.03);
  const bottom = await screenshotPixel(png, cx, box.top + box.height * 0.97);
  assert.ok(
    near(top, [220, 0, 0], 40),
    `top band shown red, got rgb(${top}) in ${JSON.stringify(box)}`,
  );
  assert.ok(near(bottom, [0, 0, 220], 40), `bottom band shown blue, got rgb(${bottom})`);
}

Deno.test("pushed, slow and stopped cameras show their newest frame in the viewer at once", async () => {
  const video = await makeTestVideo({ width: 320, height: 240, fps: 5, seconds: 2 });
  const d = await startDetector([
    "serve",
    "--upload-token",
    TOKEN,
    "--source",
    `ended=${video}`,
  ]);
  const browser = await launchChromium();
  try {
    const red: Rgb = [220, 30, 30];
    await upload(d, "one", await solidJpeg(320, 180, red));
    await upload(d, "slow", await solidJpeg(320, 180, [20, 20, 20]));
    await upload(d, "tall", await portraitJpeg());
    const page = await browser.newPage();
    await page.navigate(`${d.url}/`);

    // One frame ever: the tile shows it although no second frame will push it out.
    const oneMs = await tileShows(page, "one", red, 10_000);
    console.log(`single pushed frame shown ${oneMs.toFixed(0)} ms after the page loaded`);

    // 0.2 fps: each frame is on screen before the next one is due.
    const colours: Rgb[] = [[30, 200, 30], [30, 30, 200], [200, 200, 30]];
    for (const rgb of colours) {
      await new Promise((r) => setTimeout(r, 5000 - 1000));
      await upload(d, "slow", await solidJpeg(320, 180, rgb));
      const ms = await tileShows(page, "slow", rgb, 4500);
      console.log(`0.2 fps camera: frame rgb(${rgb}) shown ${ms.toFixed(0)} ms after its upload`);
    }

    // The video ended: its last frame stays on screen.
    await eventually(
      async () => {
        const cams = await (await fetch(`${d.url}/cameras`)).json();
        return cams.find((c: { name: string }) => c.name === "ended")?.detail?.ended === true;
      },
      "the video to end",
      30_000,
    );
    const last = await snapshotView(page, "ended");
    assert.ok(last.hash, "the ended camera has a snapshot");
    await eventually(
      async () => (await tileView(page, "ended")).hash === last.hash,
      "the ended camera's tile to show its last frame",
      10_000,
    );
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await tileView(page, "ended")).hash, last.hash, "the last frame stays");
    assert.equal((await tileView(page, "one")).width, 320, "the single frame stays");

    // Letterboxed, never cropped: the portrait frame's top and bottom are on screen, in the
    // 16:9 tile and on the camera's own page.
    await eventually(async () => (await tileView(page, "tall")).width === 180, "portrait tile");
    await wholeFrameVisible(page, `figure[data-camera="tall"] img`);
    const tilesLink = await page.evaluate<string>(
      `document.querySelector('figure[data-camera="tall"] a').getAttribute("href")`,
    );
    assert.equal(tilesLink, "/cameras/tall/");
    await page.navigate(`${d.url}/cameras/tall/`);
    await eventually(
      async () =>
        (await page.evaluate<number>(
          `document.querySelector("#camera img")?.naturalWidth ?? 0`,
        )) === 180,
      "the camera page's stream",
    );
    await wholeFrameVisible(page, "#camera img");
    const text = await page.evaluate<string>(`document.querySelector("main").innerText`);
    assert.match(text, /state\s+push/);
    assert.match(text, /size\s+180×320/);
    const links = await page.evaluate<string[]>(
      `[...document.querySelectorAll("nav a")].map((a) => a.getAttribute("href"))`,
    );
    for (const want of ["snapshot.jpg", "stream.mjpg", "events", "history"]) {
      assert.ok(links.includes(`/cameras/tall/${want}`), `link to ${want} in ${links}`);
    }
  } finally {
    await browser.close();
    await d.stop();
  }
});

Deno.test("ffmpeg and curl read the stream, a single-frame camera included", async () => {
  const d = await startDetector([
    "serve",
    "--upload-token",
    TOKEN,
    "--source",
    "pattern=testpattern:?fps=10&size=320x180",
  ]);
  const dir = await Deno.makeTempDir({ prefix: "mjpeg_readers_" });
  try {
    await upload(d, "one", await solidJpeg(160, 90, [200, 30, 30]));
    await eventually(async () => (await fetch(`${d.url}/snapshot.jpg`)).status === 200, "a frame");

    // ffmpeg's mpjpeg demuxer: five frames of the live camera, then the single pushed frame.
    const live = startFfmpeg([
      "-loglevel",
      "error",
      "-f",
      "mpjpeg",
      "-i",
      `${d.url}/cameras/pattern/stream.mjpg`,
      "-frames:v",
      "5",
      "-c",
      "copy",
      `${dir}/live_%02d.jpg`,
    ]);
    assert.equal((await live.status).code, 0, live.output());
    for (let i = 1; i <= 5; i++) {
      const meta = await sharp(await Deno.readFile(`${dir}/live_0${i}.jpg`)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 320, 180]);
    }
    const single = startFfmpeg([
      "-loglevel",
      "error",
      "-probesize",
      "32",
      "-analyzeduration",
      "0",
      "-f",
      "mpjpeg",
      "-i",
      `${d.url}/cameras/one/stream.mjpg`,
      "-frames:v",
      "1",
      "-c",
      "copy",
      `${dir}/one.jpg`,
    ]);
    const timer = setTimeout(() => single.stop(), 15_000);
    const status = await single.status;
    clearTimeout(timer);
    assert.equal(
      status.code,
      0,
      `ffmpeg got the single frame without a second one: ${single.output()}`,
    );
    assert.deepEqual(
      await Deno.readFile(`${dir}/one.jpg`),
      await (await fetch(`${d.url}/cameras/one/snapshot.jpg`)).bytes(),
    );

    // curl: the single part, complete with its closing boundary, within its time limit.
    const curl = await new Deno.Command("curl", {
      args: ["-sN", "--max-time", "2", `${d.url}/cameras/one/stream.mjpg`],
      stdout: "piped",
    }).output();
    assert.equal(curl.code, 28, "curl stopped by its --max-time, the stream stays open");
    const text = new TextDecoder("latin1").decode(curl.stdout);
    assert.ok(text.startsWith("--frame\r\nContent-Type: image/jpeg\r\n"), text.slice(0, 80));
    assert.ok(
      text.endsWith("\xff\xd9\r\n--frame\r\n"),
      "the JPEG is followed by the next boundary",
    );
    const parts: string[] = [];
    new MultipartParser((p) => parts.push(p.headers["x-frame-seq"])).push(curl.stdout);
    assert.deepEqual(parts, ["1", "1"], "the frame, and once more for browsers, not endlessly");
  } finally {
    await d.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
