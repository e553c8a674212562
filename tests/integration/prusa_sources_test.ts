/** `prusa upload --from` with the real pull sources of the registry. */
import assert from "node:assert/strict";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { jpegFilePath } from "../../src/prusa/frame_source.ts";
import { runDetector } from "../harness/detector.ts";
import { startFakePrusa } from "../harness/fake_prusa.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";

const TOKEN = "sourcesT0kenR3v8Pk2Mw";
const FINGERPRINT = "sources-test-fingerprint-01";

function widthOf(body: Uint8Array): number {
  const c = checkJpeg(body);
  return c.ok ? c.info.width : -1;
}

Deno.test("dir: source: one-shot uploads the newest file and leaves the folder alone", async () => {
  const fake = startFakePrusa({ token: TOKEN });
  const dir = await Deno.makeTempDir({ prefix: "prusa_dir_" });
  try {
    await Deno.writeFile(`${dir}/a.jpg`, await solidJpeg(100, 50));
    const old = new Date(Date.now() - 20_000);
    await Deno.utime(`${dir}/a.jpg`, old, old);
    await Deno.writeFile(`${dir}/b.jpg`, await solidJpeg(120, 60));
    const child = runDetector([
      "prusa",
      "upload",
      "--from",
      `dir:${dir}`,
      "--fingerprint",
      FINGERPRINT,
      "--server",
      fake.url,
    ], { PRUSA_CONNECT_TOKEN: TOKEN });
    const status = await child.status;
    assert.equal(status.code, 0, child.output());
    assert.equal(fake.acceptedSnapshots().length, 1);
    assert.equal(widthOf(fake.acceptedSnapshots()[0].body), 120);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.jpg", "b.jpg"]);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dir: source with --interval: new files are uploaded by the one open watcher", async () => {
  const fake = startFakePrusa({ token: TOKEN });
  const dir = await Deno.makeTempDir({ prefix: "prusa_dir_" });
  await Deno.writeFile(`${dir}/first.jpg`, await solidJpeg(100, 50));
  const child = runDetector([
    "prusa",
    "upload",
    "--from",
    `dir:${dir}`,
    "--fingerprint",
    FINGERPRINT,
    "--server",
    fake.url,
    "--interval",
    "200ms",
  ], { PRUSA_CONNECT_TOKEN: TOKEN });
  try {
    await eventually(() => fake.acceptedSnapshots().length >= 1, "first snapshot", 30_000);
    assert.equal(widthOf(fake.acceptedSnapshots()[0].body), 100);
    await Deno.writeFile(`${dir}/second.jpg`, await solidJpeg(140, 70));
    await eventually(
      () => widthOf(fake.acceptedSnapshots().at(-1)!.body) === 140,
      "the new file to be uploaded",
      20_000,
    );
    assert.equal(fake.acceptedInfos().length, 2, "info again for the new resolution");
    assert.doesNotMatch(child.output(), /source down, retrying/);
  } finally {
    const status = await child.stop();
    await fake.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, child.output());
  }
});

Deno.test("--from: JPEG file paths are read directly, everything else goes to the registry", () => {
  assert.equal(jpegFilePath("/srv/cam/latest.jpg"), "/srv/cam/latest.jpg");
  assert.equal(jpegFilePath("frame.JPEG"), "frame.JPEG");
  assert.equal(jpegFilePath("file:///srv/a.jpg"), "/srv/a.jpg");
  assert.equal(jpegFilePath("file:/srv/a.jpg"), "/srv/a.jpg");
  assert.equal(jpegFilePath("/srv/unknown-kind"), "/srv/unknown-kind");
  for (const spec of ["file:/srv/v.mp4", "clip.mp4", "dir:/srv", "tcp://127.0.0.1:9000"]) {
    assert.equal(jpegFilePath(spec), undefined, spec);
  }
  assert.equal(jpegFilePath("http://127.0.0.1:8081/snapshot.jpg"), undefined);
  assert.equal(jpegFilePath("testpattern:"), undefined);
});

Deno.test("tcp:// MJPEG camera with --interval: one connection serves every upload", async () => {
  const fake = startFakePrusa({ token: TOKEN });
  const frame = await solidJpeg(176, 144);
  const camera = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  const stop = new AbortController();
  const serving = (async () => {
    for await (const conn of camera) {
      connections++;
      (async () => {
        try {
          while (!stop.signal.aborted) {
            await conn.write(frame);
            await new Promise((r) => setTimeout(r, 100));
          }
        } catch { /* uploader went away */ }
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })();
  const port = (camera.addr as Deno.NetAddr).port;
  const child = runDetector([
    "prusa",
    "upload",
    "--from",
    `tcp://127.0.0.1:${port}`,
    "--fingerprint",
    FINGERPRINT,
    "--server",
    fake.url,
    "--interval",
    "200ms",
  ], { PRUSA_CONNECT_TOKEN: TOKEN });
  try {
    await eventually(() => fake.acceptedSnapshots().length >= 4, "four snapshots", 30_000);
    assert.equal(connections, 1, "the camera was opened once");
    for (const q of fake.acceptedSnapshots()) assert.deepEqual(q.body, frame);
  } finally {
    const status = await child.stop();
    stop.abort();
    camera.close();
    await serving;
    await fake.close();
    assert.equal(status.code, 0, child.output());
  }
});
