import assert from "node:assert/strict";
import { PpmSplitter, readPpmStream } from "../../src/sources/ppm_splitter.ts";
import { concat } from "../harness/push_client.ts";

function ppm(width: number, height: number, fill: number): Uint8Array {
  const head = new TextEncoder().encode(`P6\n${width} ${height}\n255\n`);
  const out = new Uint8Array(head.length + width * height * 3);
  out.set(head);
  out.fill(fill, head.length);
  return out;
}

Deno.test("ppm splitter: frames split across any chunking, size changes mid-stream", () => {
  const stream = concat(ppm(4, 2, 1), ppm(3, 3, 2), ppm(4, 2, 3));
  for (const size of [1, 2, 7, 15, 24, 1000]) {
    const s = new PpmSplitter();
    const frames = [];
    for (let i = 0; i < stream.length; i += size) {
      frames.push(...s.push(stream.subarray(i, i + size)));
    }
    assert.deepEqual(frames.map((f) => [f.width, f.height, f.rgb.length, f.rgb[0]]), [
      [4, 2, 24, 1],
      [3, 3, 27, 2],
      [4, 2, 24, 3],
    ], `chunks of ${size}`);
    assert.ok(frames.every((f) => f.rgb.every((v) => v === f.rgb[0])), "pixels intact");
    assert.equal(s.midFrame, false);
    assert.equal(s.failed, undefined);
  }
  const s = new PpmSplitter();
  assert.deepEqual(s.push(ppm(2, 2, 9).subarray(0, 20)), []);
  assert.equal(s.midFrame, true, "a partial frame is held");
});

Deno.test("ppm splitter: garbage, other maxval and oversized frames fail the stream", () => {
  const garbage = new PpmSplitter();
  assert.deepEqual(garbage.push(new TextEncoder().encode("\xff\xd8JFIF")), []);
  assert.match(garbage.failed!, /not a binary PPM/);
  const deep = new PpmSplitter();
  deep.push(new TextEncoder().encode("P6\n2 2\n65535\n"));
  assert.match(deep.failed!, /maxval 65535/);
  const big = new PpmSplitter(100);
  assert.deepEqual(big.push(ppm(20, 20, 0)), []);
  assert.match(big.failed!, /20x20 outside 1…100 pixels/);
  const zero = new PpmSplitter();
  zero.push(new TextEncoder().encode("P6\n0 5\n255\n"));
  assert.match(zero.failed!, /0x5/);
});

Deno.test("ppm splitter: a byte stream is read straight into the frames (BYOB), any chunking", async () => {
  const stream = concat(ppm(4, 2, 1), ppm(1, 1, 2), ppm(3, 3, 3), ppm(4, 2, 4));
  for (const size of [1, 5, 19, 64, 4096]) {
    for (const type of ["bytes", undefined] as const) {
      let at = 0;
      const pull = (
        c: { enqueue(b: Uint8Array): void; close(): void; byobRequest?: unknown },
      ) => {
        if (at >= stream.length) {
          c.close();
          // a BYOB read waiting on a closed byte stream ends with an empty answer
          (c.byobRequest as ReadableStreamBYOBRequest | null | undefined)?.respond(0);
          return;
        }
        c.enqueue(stream.slice(at, at + size));
        at += size;
      };
      const source: ReadableStream<Uint8Array> = type
        ? new ReadableStream({ type, pull }) as ReadableStream<Uint8Array>
        : new ReadableStream<Uint8Array>({ pull });
      const got: number[][] = [];
      await readPpmStream(source, new PpmSplitter(), (frames) => {
        for (const f of frames) {
          assert.ok(f.rgb.every((v) => v === f.rgb[0]), "pixels intact");
          got.push([f.width, f.height, f.rgb.length, f.rgb[0]]);
        }
      });
      assert.deepEqual(
        got,
        [[4, 2, 24, 1], [1, 1, 3, 2], [3, 3, 27, 3], [4, 2, 24, 4]],
        `${type} ${size}`,
      );
    }
  }
});
