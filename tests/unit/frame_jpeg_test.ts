import assert from "node:assert/strict";
import { walkJpeg } from "../../src/core/jpeg.ts";
import { FrameCache } from "../../src/core/frame_cache.ts";
import { cropFrameJpeg, cropRgb, frameJpeg } from "../../src/sources/frame_jpeg.ts";

/** A 6×4 RGB image whose pixel (x, y) is [x, y, 7]. */
function pixels(): Uint8Array {
  const rgb = new Uint8Array(6 * 4 * 3);
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 6; x++) rgb.set([x, y, 7], (y * 6 + x) * 3);
  }
  return rgb;
}

function size(jpeg: Uint8Array): [number, number] {
  const info = walkJpeg(jpeg);
  assert.ok(info !== "incomplete" && info.ok);
  return [info.info.width, info.info.height];
}

Deno.test("frame jpeg: raw crops copy the right pixels", () => {
  const out = cropRgb(pixels(), 6, { left: 2, top: 1, width: 3, height: 2 });
  assert.deepEqual([...out], [2, 1, 7, 3, 1, 7, 4, 1, 7, 2, 2, 7, 3, 2, 7, 4, 2, 7]);
});

Deno.test("frame jpeg: a raw frame is encoded once, on demand; crops are cut from the pixels", async () => {
  const cache = new FrameCache();
  const frame = cache.put("cam", new Uint8Array(0), { width: 6, height: 4, rgb: pixels() });
  assert.equal(frame.rgb?.length, 72);
  const a = frameJpeg(frame);
  assert.equal(frameJpeg(frame), a, "the same encoding for every caller");
  assert.deepEqual(size(await a), [6, 4]);
  const crop = await cropFrameJpeg(frame, { x1: 1, y1: 1, x2: 5, y2: 3 });
  assert.deepEqual([crop.width, crop.height, ...size(crop.jpeg)], [4, 2, 4, 2]);
  const whole = await cropFrameJpeg(frame, { x1: 0, y1: 0, x2: 99, y2: 99 });
  assert.equal(whole.jpeg, await a, "a crop covering the frame reuses its JPEG");
  const jpegFrame = cache.put("cam", await a, { width: 6, height: 4 });
  assert.equal(jpegFrame.rgb, undefined);
  assert.equal(await frameJpeg(jpegFrame), jpegFrame.jpeg, "JPEG frames are not re-encoded");
});
