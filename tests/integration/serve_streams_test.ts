import assert from "node:assert/strict";
import { type Detector, startDetector } from "../harness/detector.ts";
import { eventually } from "../harness/process.ts";
import { MultipartParser } from "../../bench/lib/mjpeg_parser.ts";
import {
  countMjpegParts,
  RawHttpStream,
  readMjpegParts,
  readSseEvents,
} from "../../bench/lib/stream_clients.ts";

async function gauge(d: Detector, name: string): Promise<number> {
  const text = await (await fetch(`${d.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  assert.ok(m, `${name} missing from /metrics`);
  return Number(m[1]);
}

async function counter(d: Detector, name: string, camera: string): Promise<number> {
  const text = await (await fetch(`${d.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{camera="${camera}"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** An open MJPEG stream read by fetch until told to stop. */
async function openFetchStream(url: string) {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let parts = 0;
  const parser = new MultipartParser(() => parts++, { keepBody: false });
  const firstPart = (async () => {
    while (parts === 0) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended before the first part");
      parser.push(value);
    }
  })();
  await firstPart;
  return { reader, parts: () => parts };
}

Deno.test("clients that disconnect mid-stream release their streams, however many", async () => {
  const d = await startDetector([
    "serve",
    "--source",
    "small=testpattern:?fps=10&size=160x90",
    "--source",
    "large=testpattern:?fps=4&size=1280x720",
  ]);
  try {
    await eventually(async () => (await fetch(`${d.url}/snapshot.jpg`)).status === 200, "a frame");
    assert.equal(await gauge(d, "detector_http_mjpeg_clients"), 0);

    // Fetch clients that read one whole part, then cancel.
    const fetched = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) => openFetchStream(`${d.url}/cameras/${i % 2 ? "small" : "large"}/stream.mjpg`),
      ),
    );
    // Raw TCP clients that stop in the middle of the first (large) part and drop the socket.
    const raw = await Promise.all(Array.from({ length: 20 }, async () => {
      const s = await RawHttpStream.open(`${d.url}/cameras/large/stream.mjpg`);
      let seen = 0;
      await s.pump((b) => seen += b.byteLength, () => seen > 2000);
      return s;
    }));
    // Server-sent event clients, some still waiting for their first event.
    const sse = await Promise.all(Array.from({ length: 6 }, async () => {
      const res = await fetch(`${d.url}/cameras/small/events`);
      const reader = res.body!.getReader();
      await reader.read();
      return reader;
    }));

    await eventually(
      async () => await gauge(d, "detector_http_mjpeg_clients") === 60,
      "60 open MJPEG streams",
    );
    assert.equal(await gauge(d, "detector_http_sse_clients"), 6);

    for (const s of raw) s.close();
    await eventually(
      async () => await gauge(d, "detector_http_mjpeg_clients") === 40,
      "raw clients released",
    );
    await Promise.all(fetched.map((f) => f.reader.cancel()));
    await Promise.all(sse.map((r) => r.cancel()));
    await eventually(
      async () => await gauge(d, "detector_http_mjpeg_clients") === 0,
      "every MJPEG stream released",
    );
    await eventually(
      async () => await gauge(d, "detector_http_sse_clients") === 0,
      "every SSE stream released",
    );

    // The server is still healthy for new clients.
    const parts = await readMjpegParts(`${d.url}/cameras/small/stream.mjpg`, 2);
    assert.equal(parts.length, 2);
    const events = await readSseEvents(`${d.url}/cameras/small/events`, 2);
    assert.equal(events.length, 2);
    await eventually(
      async () => await gauge(d, "detector_http_mjpeg_clients") === 0,
      "the last client released",
    );
    assert.doesNotMatch(d.output(), /ERROR/);
  } finally {
    const status = await d.stop();
    assert.equal(status.code, 0, d.output());
  }
});

Deno.test("?fps= caps a client's rate, and TARGET_FPS caps every ?fps=", async () => {
  const d = await startDetector([
    "serve",
    "--target-fps",
    "4",
    "--source",
    "cam=testpattern:?fps=12&size=160x90",
  ]);
  try {
    await eventually(async () => (await fetch(`${d.url}/snapshot.jpg`)).status === 200, "a frame");
    const windowMs = 3000;
    const base = `${d.url}/cameras/cam/stream.mjpg`;
    const skippedBefore = await counter(d, "detector_http_mjpeg_frames_skipped_total", "cam");
    const [atTarget, atOne, askedTooMuch] = await Promise.all([
      countMjpegParts(base, windowMs),
      countMjpegParts(`${base}?fps=1`, windowMs),
      countMjpegParts(`${base}?fps=100`, windowMs),
    ]);
    // Loose bounds: a burst of 1.5 frames, then at most 1.05 × fps per second (the cap's slack).
    const most = (fps: number) => Math.floor(1.5 + fps * 1.05 * windowMs / 1000) + 1;
    assert.ok(atTarget <= most(4), `target 4 fps gave ${atTarget} frames in 3 s`);
    assert.ok(atTarget >= 4, `target 4 fps gave only ${atTarget} frames in 3 s`);
    assert.ok(askedTooMuch <= most(4), `fps=100 (capped at 4) gave ${askedTooMuch} frames`);
    assert.ok(atOne <= most(1), `fps=1 gave ${atOne} frames in 3 s`);
    assert.ok(atOne >= 2, `fps=1 gave only ${atOne} frames in 3 s`);
    assert.ok(atOne < atTarget, `fps=1 (${atOne}) not slower than the target (${atTarget})`);
    // Capped clients skip the frames in between, and that is counted.
    const skippedAfter = await counter(d, "detector_http_mjpeg_frames_skipped_total", "cam");
    assert.ok(skippedAfter > skippedBefore, "skipped frames are counted");
  } finally {
    await d.stop();
  }
});

Deno.test("SIGTERM ends open streams and exits 0", async () => {
  const d = await startDetector([
    "serve",
    "--source",
    "cam=testpattern:?fps=5&size=160x90",
  ]);
  let stopped = false;
  try {
    await eventually(async () => (await fetch(`${d.url}/snapshot.jpg`)).status === 200, "a frame");
    const streams = await Promise.all(
      Array.from({ length: 5 }, () => openFetchStream(`${d.url}/stream.mjpg`)),
    );
    const stalled = await RawHttpStream.open(`${d.url}/stream.mjpg`);
    await stalled.readHead();
    const events = await fetch(`${d.url}/cameras/cam/events`);
    const eventsReader = events.body!.getReader();
    await eventsReader.read();
    await eventually(
      async () => await gauge(d, "detector_http_mjpeg_clients") === 6,
      "6 open streams",
    );

    const ends = [
      ...streams.map(async (s) => {
        try {
          while (!(await s.reader.read()).done) { /* drain until the server ends it */ }
        } catch {
          // a reset also ends the stream
        }
      }),
      (async () => {
        try {
          while (!(await eventsReader.read()).done) { /* drain */ }
        } catch { /* reset */ }
      })(),
    ];
    const status = await d.stop(20_000);
    stopped = true;
    // The forced exit after 10 s would be code 1; a clean stop is 0.
    assert.equal(status.code, 0, d.output());
    assert.match(d.output(), /stopped/);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(ends),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("streams still open after exit")), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
    stalled.close();
  } finally {
    if (!stopped) await d.stop();
  }
});
