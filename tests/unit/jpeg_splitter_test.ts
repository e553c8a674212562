import assert from "node:assert/strict";
import { checkJpeg } from "../../src/core/jpeg.ts";
import { JpegSplitter } from "../../src/core/jpeg_splitter.ts";
import { noisyJpeg, solidJpeg } from "../harness/jpeg_fixtures.ts";
import { concat } from "../harness/push_client.ts";

Deno.test("checkJpeg reads size without decoding and refuses truncation", async () => {
  const jpeg = await noisyJpeg(64, 48);
  const ok = checkJpeg(jpeg);
  assert.ok(ok.ok);
  assert.equal(ok.info.width, 64);
  assert.equal(ok.info.height, 48);
  const cut = checkJpeg(jpeg.subarray(0, jpeg.length - 100));
  assert.equal(cut.ok, false);
  assert.equal(checkJpeg(new TextEncoder().encode("<html>not a jpeg</html>")).ok, false);
});

Deno.test("FF D9 inside a segment (an EXIF thumbnail) does not end the frame", async () => {
  const base = await solidJpeg(24, 24);
  const thumb = await solidJpeg(8, 8);
  const app1 = new Uint8Array(4 + thumb.length);
  app1.set([0xff, 0xe1, (thumb.length + 2) >> 8, (thumb.length + 2) & 0xff]);
  app1.set(thumb, 4);
  const withThumb = concat(base.subarray(0, 2), app1, base.subarray(2));
  const r = checkJpeg(withThumb);
  assert.ok(r.ok);
  assert.equal(r.info.length, withThumb.length);
  assert.equal(r.info.width, 24);
  const out = new JpegSplitter().push(concat(withThumb, base));
  assert.equal(out.length, 2);
  assert.equal(out[0].jpeg.length, withThumb.length);
});

Deno.test("splitter yields every frame from byte-at-a-time and random chunking", async () => {
  const frames = [await noisyJpeg(80, 60, 1), await solidJpeg(32, 32), await noisyJpeg(40, 30, 3)];
  const stream = concat(frames[0], frames[1], frames[2]);
  for (const chunk of [1, 7, 1000, stream.length]) {
    const s = new JpegSplitter();
    const out = [];
    for (let i = 0; i < stream.length; i += chunk) {
      out.push(...s.push(stream.subarray(i, i + chunk)));
    }
    assert.equal(out.length, 3, `chunk ${chunk}`);
    out.forEach((f, i) => assert.deepEqual(f.jpeg, frames[i]));
    assert.equal(out[0].width, 80);
    assert.equal(s.pending, 0);
  }
});

Deno.test("splitter skips garbage and multipart headers between frames", async () => {
  const a = await noisyJpeg(16, 16, 2);
  const enc = new TextEncoder();
  const s = new JpegSplitter();
  const out = s.push(concat(
    enc.encode("garbage\xff\xff"),
    enc.encode("--frame\r\nContent-Type: image/jpeg\r\n\r\n"),
    a,
    enc.encode("\r\n--frame\r\n\r\n"),
    a,
  ));
  assert.equal(out.length, 2);
  assert.ok(s.stats.garbageBytes > 30);
});

Deno.test("a frame cut short by the next frame is dropped, the next one kept", async () => {
  const a = await noisyJpeg(32, 32, 4);
  const b = await solidJpeg(20, 10);
  const s = new JpegSplitter();
  const out = s.push(concat(a.subarray(0, a.length / 2), b));
  assert.equal(out.length, 1);
  assert.deepEqual(out[0].jpeg, b);
  assert.equal(s.stats.dropped, 1);
});

Deno.test("splitter bounds its buffer: an endless frame is dropped at the limit", () => {
  const s = new JpegSplitter(4096);
  const head = new Uint8Array([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x04, 0x41, 0x41]);
  s.push(head);
  for (let i = 0; i < 20; i++) s.push(new Uint8Array(1024).fill(0x41));
  assert.ok(s.pending <= 4098);
  assert.ok(s.stats.dropped >= 1);
});
