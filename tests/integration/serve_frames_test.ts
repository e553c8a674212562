import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { noisyJpeg, solidJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import { MultipartParser, type Part } from "../../bench/lib/mjpeg_parser.ts";
import { readStamp, STAMP_BYTES, stampJpeg } from "../../bench/lib/bench_frame.ts";
import { RawHttpStream } from "../../bench/lib/stream_clients.ts";

/** A camera speaking raw MJPEG over TCP (rpicam-vid style): serve connects, the test writes. */
class TcpCamera {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  #conn: Promise<Deno.Conn>;

  constructor() {
    this.#conn = this.listener.accept();
  }

  get spec(): string {
    return `tcp://127.0.0.1:${(this.listener.addr as Deno.NetAddr).port}`;
  }

  async write(bytes: Uint8Array): Promise<void> {
    const conn = await this.#conn;
    let off = 0;
    while (off < bytes.byteLength) off += await conn.write(bytes.subarray(off));
  }

  async close(): Promise<void> {
    this.listener.close();
    try {
      (await Promise.race([this.#conn, Promise.reject(new Error("never connected"))])).close();
    } catch { /* not connected or gone */ }
  }
}

Deno.test("/snapshot.jpg is 503 with Retry-After until the first frame, then 200", async () => {
  const camera = new TcpCamera();
  const d = await startDetector(["serve", "--source", `printer=${camera.spec}`]);
  try {
    for (const path of ["/snapshot.jpg", "/cameras/printer/snapshot.jpg"]) {
      const res = await fetch(`${d.url}${path}`);
      assert.equal(res.status, 503, path);
      assert.equal(res.headers.get("retry-after"), "1");
      assert.match(res.headers.get("content-type")!, /^application\/json/);
      const body = await res.json();
      assert.match(body.error, /no frame from camera "printer" yet/);
      assert.equal(body.camera, "printer");
    }
    const head = await fetch(`${d.url}/snapshot.jpg`, { method: "HEAD" });
    assert.equal(head.status, 503);
    await head.body?.cancel();
    const cams = await (await fetch(`${d.url}/cameras`)).json();
    assert.equal(cams[0].ageMs, null);

    const jpeg = await solidJpeg(64, 48, [10, 200, 30]);
    await camera.write(jpeg);
    const ok = await eventually(async () => {
      const res = await fetch(`${d.url}/snapshot.jpg`);
      if (res.status !== 200) {
        await res.body?.cancel();
        return undefined;
      }
      return new Uint8Array(await res.arrayBuffer());
    }, "the first frame to be served");
    assert.deepEqual(ok, jpeg, "the JPEG bytes travel untouched");

    // Once there is a frame, it stays served (no flapping back to 503).
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${d.url}/cameras/printer/snapshot.jpg`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
  } finally {
    await d.stop();
    await camera.close();
  }
});

Deno.test("a client that stops reading skips to the newest frame instead of getting a backlog", async () => {
  const camera = new TcpCamera();
  // ~1 MB frames: a few seconds of them do not fit in the kernel's socket buffers.
  const big = await noisyJpeg(1000, 700);
  const d = await startDetector(["serve", "--source", `cam=${camera.spec}`]);
  let producing = true;
  let written = 0;
  const producer = (async () => {
    while (producing) {
      await camera.write(stampJpeg(big, ++written));
      await new Promise((r) => setTimeout(r, 50));
    }
  })().catch(() => {}); // the server going away ends the camera
  const client = await RawHttpStream.open(`${d.url}/cameras/cam/stream.mjpg`);
  try {
    const head = await client.readHead();
    assert.equal(head.status, 200);
    const parts: Part[] = [];
    const parser = new MultipartParser((p) => parts.push(p), {
      keepBody: false,
      headBytes: STAMP_BYTES,
    });
    await client.pump((b) => parser.push(b), () => parts.length >= 1);
    const firstN = readStamp(parts[0].body)!.n;

    // Stop reading while the camera keeps sending, long enough for ~40 MB of frames.
    const writtenBefore = written;
    await eventually(() => written >= writtenBefore + 40, "40 more frames written", 30_000);
    const resumedAt = written;
    await client.pump((b) => parser.push(b), () => {
      const last = parts.at(-1);
      return last !== undefined && readStamp(last.body)!.n >= resumedAt;
    });

    const ns = parts.map((p) => readStamp(p.body)!.n);
    for (let i = 1; i < ns.length; i++) assert.ok(ns[i] > ns[i - 1], `order: ${ns.join(",")}`);
    const delivered = ns.length;
    const span = ns.at(-1)! - firstN + 1;
    assert.ok(
      delivered < span,
      `a backlog was delivered: ${delivered} parts for frames ${firstN}..${ns.at(-1)}`,
    );
    const text = await (await fetch(`${d.url}/metrics`)).text();
    const skipped = Number(
      /^detector_http_mjpeg_frames_skipped_total\{camera="cam"\} (\d+)$/m.exec(text)?.[1],
    );
    assert.ok(skipped > 0, "skipped frames are counted");
  } finally {
    client.close();
    producing = false;
    await producer;
    await d.stop();
    await camera.close();
  }
});

Deno.test("SIGTERM exits 0 even while a client that stopped reading holds a stream", async () => {
  const camera = new TcpCamera();
  const big = await noisyJpeg(1000, 700);
  const d = await startDetector(["serve", "--source", `cam=${camera.spec}`]);
  let producing = true;
  let written = 0;
  const producer = (async () => {
    while (producing) {
      await camera.write(big);
      written++;
      await new Promise((r) => setTimeout(r, 30));
    }
  })().catch(() => {}); // the server going away ends the camera
  const stalled = await RawHttpStream.open(`${d.url}/stream.mjpg`);
  let stopped = false;
  try {
    assert.equal((await stalled.readHead()).status, 200);
    // Enough frames for the socket buffers to fill: the server cannot finish this response.
    await eventually(() => written >= 40, "40 frames written", 30_000);
    const status = await d.stop(30_000);
    stopped = true;
    // The forced exit after 10 s would be code 1.
    assert.equal(status.code, 0, d.output());
    assert.match(d.output(), /responses still open .* dropping them/);
  } finally {
    stalled.close();
    producing = false;
    await producer;
    if (!stopped) await d.stop();
    await camera.close();
  }
});
