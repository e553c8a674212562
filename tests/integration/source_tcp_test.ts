import assert from "node:assert/strict";
import { startDetector } from "../harness/detector.ts";
import { serveMjpegOverTcp } from "../harness/ffmpeg.ts";
import { noisyJpeg } from "../harness/jpeg_fixtures.ts";
import { eventually } from "../harness/process.ts";
import { camera, metricSum, snapshot } from "./source_helpers.ts";

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Bytes that never form a JPEG start (FF D8 FF), with FF bytes sprinkled in. */
function garbage(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 97 === 0 ? 0xff : (i * 31) % 0xd0;
  return out;
}

Deno.test("tcp: raw MJPEG from ffmpeg is served; the source reconnects when ffmpeg comes back", async () => {
  let ffmpeg = await serveMjpegOverTcp({ rate: 10, size: "640x360" });
  const det = await startDetector(["serve", "--source", `cam=tcp://127.0.0.1:${ffmpeg.port}`]);
  try {
    const first = await eventually(
      async () => {
        const c = await camera(det.url, "cam");
        return c.seq >= 5 ? c : undefined;
      },
      "frames from ffmpeg",
      20_000,
    );
    assert.equal(first.state, "live");
    assert.equal(first.width, 640);
    assert.equal(first.height, 360);
    assert.equal(await metricSum(det.url, "detector_frames_rejected_total", "cam"), 0);

    await ffmpeg.stop();
    await eventually(
      async () => (await camera(det.url, "cam")).state === "backoff",
      "backoff once ffmpeg is gone",
    );
    ffmpeg = await serveMjpegOverTcp({ rate: 10, size: "320x240", port: ffmpeg.port });
    await eventually(
      async () => {
        const c = await camera(det.url, "cam");
        return c.state === "live" && c.width === 320;
      },
      "frames again after reconnecting",
      30_000,
    );
    const jpeg = await snapshot(det.url, "cam");
    assert.ok(jpeg && jpeg[0] === 0xff && jpeg[1] === 0xd8);
  } finally {
    await ffmpeg.stop();
    await det.stop();
  }
});

Deno.test("tcp: a peer sending garbage, closing mid-frame or going silent is survived", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const frames = [
    await noisyJpeg(64, 48, 1),
    await noisyJpeg(80, 60, 2),
    await noisyJpeg(96, 72, 3),
  ];
  const det = await startDetector([
    "serve",
    "--source",
    `cam=tcp://127.0.0.1:${port}`,
    "--timeout",
    "1500ms",
  ]);
  const open: Deno.Conn[] = [];
  const accept = async () => {
    const c = await listener.accept();
    open.push(c);
    return c;
  };
  try {
    // 1: only garbage, then close
    let conn = await accept();
    await writeAll(conn, garbage(200_000));
    conn.close();
    let cam = await eventually(async () => {
      const c = await camera(det.url, "cam");
      return /without a JPEG frame/.test(c.lastError ?? "") ? c : undefined;
    }, "the garbage session to fail with a clear error");
    assert.ok(Number(cam.detail.retries) >= 1, JSON.stringify(cam));
    assert.equal(cam.seq, 0);
    assert.ok(await metricSum(det.url, "detector_source_garbage_bytes_total", "cam") >= 200_000);

    // 2: one frame, then half of the next, then close
    conn = await accept();
    await writeAll(conn, frames[0]);
    await eventually(async () => (await camera(det.url, "cam")).seq === 1, "the first frame");
    assert.deepEqual(await snapshot(det.url, "cam"), frames[0]);
    await writeAll(conn, frames[1].subarray(0, frames[1].length / 2));
    conn.close();
    await eventually(async () => {
      const c = await camera(det.url, "cam");
      return /mid-frame/.test(c.lastError ?? "");
    }, "the mid-frame close to be reported");
    assert.equal(await metricSum(det.url, "detector_frames_rejected_total", "cam"), 1);
    assert.equal((await camera(det.url, "cam")).seq, 1, "the half frame is not served");

    // 3: valid frames with garbage between them
    conn = await accept();
    await writeAll(conn, frames[1]);
    await writeAll(conn, garbage(5000));
    await writeAll(conn, frames[2]);
    await eventually(
      async () => (await camera(det.url, "cam")).seq === 3,
      "frames after reconnect",
    );
    cam = await camera(det.url, "cam");
    assert.equal(cam.state, "live");
    assert.equal(cam.width, 96);
    assert.deepEqual(await snapshot(det.url, "cam"), frames[2]);

    // 4: the peer keeps the connection open but sends nothing
    cam = await eventually(async () => {
      const c = await camera(det.url, "cam");
      return /no data for 1500 ms/.test(c.lastError ?? "") ? c : undefined;
    }, "a silent peer to be given up");
    assert.equal(cam.seq, 3);
    conn = await accept();
    await writeAll(conn, frames[0]);
    await eventually(async () => (await camera(det.url, "cam")).seq === 4, "a frame after stall");
    assert.equal((await fetch(`${det.url}/healthz`)).status, 200);
  } finally {
    for (const c of open) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    listener.close();
    await det.stop();
  }
});
