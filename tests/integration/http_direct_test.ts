import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";
import { concat, metrics, metricValue } from "../harness/push_client.ts";
import { eventually } from "../harness/process.ts";
import {
  ChunkedDecoder,
  concatBytes,
  MultipartParser,
  parseResponseHead,
} from "../../bench/lib/mjpeg_parser.ts";

/**
 * Snapshots and MJPEG streams are answered by the front door on the client connection itself;
 * these requests must keep every connection rule of the relayed ones.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Resolves "closed" once the server closes the socket, "open" if it still holds it after `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number, sink?: Uint8Array[]): Promise<string> {
  const buf = new Uint8Array(64 * 1024);
  const until = Date.now() + ms;
  while (Date.now() < until) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = new Promise<"open">((r) =>
      timer = setTimeout(() => r("open"), until - Date.now())
    );
    try {
      const n = await Promise.race([conn.read(buf), wait]);
      if (n === null) return "closed";
      if (n === "open") return "open";
      sink?.push(buf.slice(0, n));
    } catch {
      return "closed";
    } finally {
      clearTimeout(timer);
    }
  }
  return "open";
}

/** Status lines and Content-Length of each response in a byte sequence of responses. */
function responses(bytes: Uint8Array): { status: number; length: number }[] {
  const text = decoder.decode(bytes);
  const out: { status: number; length: number }[] = [];
  for (const m of text.matchAll(/HTTP\/1\.1 (\d{3}) [^\r]*\r\n((?:[^\r]+\r\n)*)\r\n/g)) {
    const length = /^content-length: (\d+)$/im.exec(m[2]);
    out.push({ status: Number(m[1]), length: length ? Number(length[1]) : -1 });
  }
  return out;
}

Deno.test("HTTP: snapshots and MJPEG answered by the front door keep the connection rules", async (t) => {
  const det = await startDetector([
    "serve",
    "--source",
    "demo=testpattern:?fps=30&size=1920x1080",
    "--upload-token",
    "tok",
    "--header-timeout",
    "1s",
    "--idle-timeout",
    "1s",
  ]);
  const port = Number(new URL(det.url).port);
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port });
  const timedOut = async (phase: string) =>
    metricValue(await metrics(det.url), "detector_http_connections_timed_out_total", { phase });
  try {
    await eventually(
      async () => {
        const res = await fetch(`${det.url}/snapshot.jpg`);
        await res.body?.cancel();
        return res.status === 200;
      },
      "a first frame",
      20_000,
    );

    await t.step("pipelined snapshots, then a relayed request, then the idle timeout", async () => {
      const idleBefore = await timedOut("idle");
      const c = await connect();
      await c.write(encoder.encode(
        "GET /snapshot.jpg HTTP/1.1\r\nHost: x\r\n\r\n" +
          "HEAD /cameras/demo/snapshot.jpg HTTP/1.1\r\nHost: x\r\n\r\n" +
          "GET /cameras/nope/snapshot.jpg HTTP/1.1\r\nHost: x\r\n\r\n" +
          "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
      ));
      const got: Uint8Array[] = [];
      assert.equal(await closedWithin(c, 15_000, got), "closed");
      c.close();
      const all = responses(concat(...got));
      assert.deepEqual(
        all.map((r) => r.status),
        [200, 200, 404, 200],
        decoder.decode(concat(...got)),
      );
      assert.ok(all[0].length > 1000, "the snapshot has its length");
      assert.ok(all[1].length > 1000, "HEAD tells the length of the snapshot");
      assert.ok(await timedOut("idle") > idleBefore, "closed by the idle timeout");
    });

    await t.step("an HTTP/1.0 client gets its stream without chunked coding", async () => {
      const c = await connect();
      await c.write(encoder.encode("GET /stream.mjpg HTTP/1.0\r\n\r\n"));
      let got: Uint8Array = new Uint8Array(0);
      const buf = new Uint8Array(64 * 1024);
      let head: ReturnType<typeof parseResponseHead>;
      while (!head || head.rest.byteLength < 8) {
        const n = await c.read(buf);
        assert.notEqual(n, null, "the stream went on");
        got = concatBytes(got, buf.slice(0, n!));
        head = parseResponseHead(got);
      }
      c.close();
      assert.equal(head.status, 200);
      assert.equal(head.headers["transfer-encoding"], undefined);
      assert.equal(decoder.decode(head.rest.subarray(0, 8)), "--frame\r");
    });

    await t.step("a next head that never ends after a snapshot", async () => {
      const headerBefore = await timedOut("header");
      const c = await connect();
      await c.write(encoder.encode("GET /snapshot.jpg HTTP/1.1\r\nHost: x\r\n\r\n"));
      const got: Uint8Array[] = [];
      while (responses(concat(...got)).length === 0) {
        const buf = new Uint8Array(64 * 1024);
        const n = await c.read(buf);
        assert.notEqual(n, null, "the snapshot came");
        got.push(buf.slice(0, n!));
      }
      await c.write(encoder.encode("GET /snapshot.jpg HTTP/1.1\r\n"));
      // A byte every 300 ms keeps the connection active; only the head's own clock can end it.
      const trickle = setInterval(() => c.write(encoder.encode("X")).catch(() => {}), 300);
      try {
        assert.equal(await closedWithin(c, 15_000), "closed");
      } finally {
        clearInterval(trickle);
        c.close();
      }
      assert.ok(await timedOut("header") > headerBefore, "closed by the header timeout");
    });

    await t.step(
      "an MJPEG client that stops reading is closed and its stream released",
      async () => {
        const c = await connect();
        await c.write(encoder.encode("GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n"));
        await eventually(
          async () => await timedOut("write") > 0,
          "the server giving up on the client",
          60_000,
        );
        await eventually(
          async () => metricValue(await metrics(det.url), "detector_http_mjpeg_clients") === 0,
          "the stream released",
          20_000,
        );
        assert.equal(await closedWithin(c, 15_000), "closed");
        c.close();
      },
    );

    await t.step("leaving a stream of a camera that sends nothing more releases it", async () => {
      const jpeg = await solidJpeg(64, 48);
      const up = await fetch(`${det.url}/cameras/still/image`, {
        method: "POST",
        headers: { authorization: "Bearer tok", "content-type": "image/jpeg" },
        body: jpeg as Uint8Array<ArrayBuffer>,
      });
      assert.equal(up.status, 200, await up.text());
      const c = await connect();
      await c.write(encoder.encode("GET /cameras/still/stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n"));
      // The frame, then its repeat for Chromium once the camera is idle; then nothing comes.
      let parts = 0;
      const parser = new MultipartParser(() => parts++);
      const body = new ChunkedDecoder((bytes) => parser.push(bytes));
      let head: ReturnType<typeof parseResponseHead>;
      let got: Uint8Array = new Uint8Array(0);
      const buf = new Uint8Array(64 * 1024);
      while (parts < 2) {
        const n = await c.read(buf);
        assert.notEqual(n, null, "the stream went on");
        if (head) {
          body.push(buf.subarray(0, n!));
          continue;
        }
        got = concatBytes(got, buf.slice(0, n!));
        head = parseResponseHead(got);
        if (!head) continue;
        assert.equal(head.status, 200);
        assert.equal(head.headers["transfer-encoding"], "chunked");
        body.push(head.rest);
      }
      assert.equal(metricValue(await metrics(det.url), "detector_http_mjpeg_clients"), 1);
      c.close();
      await eventually(
        async () => metricValue(await metrics(det.url), "detector_http_mjpeg_clients") === 0,
        "the stream released",
        20_000,
      );
    });
  } finally {
    await det.stop();
  }
});
