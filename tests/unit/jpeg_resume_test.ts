import assert from "node:assert/strict";
import { checkJpeg, newJpegWalkState, walkJpeg } from "../../src/core/jpeg.ts";
import { JpegSplitter } from "../../src/core/jpeg_splitter.ts";
import { noisyJpeg, solidJpeg } from "../harness/jpeg_fixtures.ts";

/** Walks `bytes` as if they arrived in pieces, resuming one state; returns the final verdict. */
function walkInSteps(bytes: Uint8Array, step: number) {
  const state = newJpegWalkState();
  for (let end = 1; end < bytes.length + step; end += step) {
    const r = walkJpeg(bytes, 0, Math.min(end, bytes.length), state);
    if (r !== "incomplete") return { r, end };
  }
  return { r: "incomplete" as const, end: bytes.length };
}

Deno.test("a resumed walk gives the same result as a walk over the whole image", async () => {
  for (const jpeg of [await noisyJpeg(96, 64, 7), await solidJpeg(40, 30)]) {
    const whole = checkJpeg(jpeg);
    assert.ok(whole.ok);
    for (const step of [1, 2, 3, 17, 500]) {
      const { r } = walkInSteps(jpeg, step);
      assert.notEqual(r, "incomplete", `step ${step}`);
      assert.deepEqual(r, whole, `step ${step}`);
    }
  }
});

Deno.test("a resumed walk still finds a corrupt marker and a truncated image", async () => {
  const jpeg = await noisyJpeg(64, 48, 9);
  const corrupt = jpeg.slice();
  // The second marker segment's first byte: no longer FF, so the structure is broken there.
  const second = 2 + ((jpeg[4] << 8) | jpeg[5]) + 2;
  corrupt[second] = 0x12;
  const fresh = checkJpeg(corrupt);
  assert.equal(fresh.ok, false);
  for (const step of [1, 5, 64]) {
    assert.deepEqual(walkInSteps(corrupt, step).r, fresh, `step ${step}`);
    const cut = jpeg.subarray(0, jpeg.length - 50);
    assert.equal(walkInSteps(cut, step).r, "incomplete");
  }
});

Deno.test("splitter keeps frames exact when fed one byte at a time between garbage", async () => {
  const a = await noisyJpeg(120, 90, 11);
  const b = await solidJpeg(50, 20);
  const junk = new Uint8Array([0x00, 0xff, 0xff, 0xd8, 0x41, 0xff]);
  const stream = new Uint8Array(junk.length * 3 + a.length + b.length);
  let o = 0;
  for (const part of [junk, a, junk, b, junk]) {
    stream.set(part, o);
    o += part.length;
  }
  const s = new JpegSplitter(64 * 1024);
  const out = [];
  for (let i = 0; i < stream.length; i++) out.push(...s.push(stream.subarray(i, i + 1)));
  assert.equal(out.length, 2);
  assert.deepEqual(out[0].jpeg, a);
  assert.deepEqual(out[1].jpeg, b);
  assert.equal(s.stats.dropped, 0);
});
