/**
 * Every URL scheme `run` accepts in a subscription's `rtspUrl` is read: one real server per scheme
 * (RTSP, RTMP and SRT and UDP senders, multipart HTTP cameras, raw MJPEG over TCP, the `…s://`
 * variants behind TLS), one subscription each, and each one gets `imageDetection` reports. Schemes
 * that would open local files or arbitrary ffmpeg inputs get an `error` reply instead.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { remoteSchemes } from "../../src/sources/registry.ts";
import { connectBackend, type Message } from "../harness/backend_client.ts";
import { startDetector } from "../harness/detector.ts";
import { startCameraServer } from "../harness/digest_server.ts";
import { listening, serveMjpegOverTcp, startFfmpeg } from "../harness/ffmpeg.ts";
import { serveFiles } from "../harness/http_files.ts";
import { solidJpeg } from "../harness/jpeg_fixtures.ts";
import { freePort } from "../harness/ports.ts";
import type { Child } from "../harness/process.ts";
import { detectionOnlyArchive } from "../harness/replay_fixtures.ts";
import { startRtspServer } from "../harness/rtsp_server.ts";
import { makeTestCertificate, startTlsProxy } from "../harness/tls_proxy.ts";

/** A UDP port on 127.0.0.1 that was free a moment ago. */
function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** A light H.264 video (320x240, 5 fps, a keyframe per second): cheap to send and to decode. */
async function smallVideo(path: string): Promise<string> {
  const r = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=320x240:rate=5:duration=30",
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-g",
      "5",
      "-bf",
      "0",
      "-pix_fmt",
      "yuv420p",
      path,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return path;
}

/** ffmpeg sending the video endlessly at its own pace, in `format`, to (or listening at) `url`. */
function sender(video: string, url: string, format: string, encode: string[] = ["-c", "copy"]) {
  return startFfmpeg([
    "-hide_banner",
    "-loglevel",
    "error",
    "-re",
    "-stream_loop",
    "-1",
    "-i",
    video,
    ...encode,
    "-f",
    format,
    ...(url.startsWith("rtmp:") ? ["-listen", "1"] : []),
    url,
  ]);
}

Deno.test({
  name: "worker schemes: every accepted rtspUrl scheme is read; local inputs get an error",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "worker_schemes_" });
    const stops: (() => unknown)[] = [];
    try {
      const cert = await makeTestCertificate(dir);
      const video = await smallVideo(`${dir}/small.mp4`);
      const files = serveFiles({
        "/detect.mpta": await Deno.readFile(await detectionOnlyArchive(dir)),
      });
      stops.push(() => files.close());
      const children: Child[] = [];
      stops.push(() => Promise.all(children.map((c) => c.stop())));
      const tls = (port: number) => {
        const proxy = startTlsProxy(port, cert);
        stops.push(() => proxy.stop());
        return proxy.port;
      };

      const rtsp = await startRtspServer({ file: video });
      stops.push(() => rtsp.stop());
      const jpeg = await solidJpeg(320, 240);
      const camera = startCameraServer({ behaviour: "multipart", jpeg: () => jpeg, fps: 5 });
      stops.push(() => camera.close());
      const rtmpPorts = [freePort(), freePort()];
      const rtmp = rtmpPorts.map((p) => sender(video, `rtmp://127.0.0.1:${p}/live/cam`, "flv"));
      children.push(...rtmp);
      await Promise.all(rtmp.map((c, i) => listening(rtmpPorts[i], c)));
      const srtPort = await freeUdpPort();
      children.push(sender(video, `srt://127.0.0.1:${srtPort}?mode=listener`, "mpegts"));
      const udpPort = await freeUdpPort();
      // MPEG-2 repeats its sequence header every GOP: a receiver can start at any moment
      children.push(
        sender(video, `udp://127.0.0.1:${udpPort}?pkt_size=1316`, "mpegts", [
          "-c:v",
          "mpeg2video",
          "-q:v",
          "5",
          "-g",
          "5",
        ]),
      );
      const tcp = await serveMjpegOverTcp({ size: "320x240", rate: 5 });
      children.push(tcp);

      const urls: Record<string, string> = {
        "testpattern:": "testpattern:?fps=2&size=320x240",
        "rtsp:": rtsp.url,
        "rtsps:": `rtsps://127.0.0.1:${tls(rtsp.port)}${rtsp.mount}`,
        "rtmp:": `rtmp://127.0.0.1:${rtmpPorts[0]}/live/cam`,
        "rtmps:": `rtmps://127.0.0.1:${tls(rtmpPorts[1])}/live/cam`,
        "srt:": `srt://127.0.0.1:${srtPort}`,
        "udp:": `udp://127.0.0.1:${udpPort}`,
        "tcp:": `tcp://127.0.0.1:${tcp.port}`,
        "mjpeg+http:": `mjpeg+${camera.origin}/video.mjpg`,
        "mjpeg+https:": `mjpeg+https://127.0.0.1:${tls(camera.port)}/video.mjpg`,
        "http:": `${camera.origin}/stream.mjpg`,
        "https:": `https://127.0.0.1:${tls(camera.port)}/stream.mjpg`,
      };
      assert.deepEqual(Object.keys(urls).sort(), remoteSchemes().sort(), "a server per scheme");

      const worker = await startDetector([
        "run",
        "--host",
        "127.0.0.1",
        "--model-dir",
        `${dir}/models`,
        "--spool-dir",
        `${dir}/spool`,
      ], {
        DENO_CERT: cert.caFile,
        // one report per subscription is all this test needs: little inference, patient readers
        DETECTOR_POLL_INTERVAL_MS: "5000",
        DETECTOR_STALL_TIMEOUT: "30s",
      });
      stops.push(() => worker.stop());
      const backend = await connectBackend(worker.url);
      stops.push(() => backend.close());
      try {
        const ids = Object.keys(urls).map((scheme, i) => [scheme, `display-${i};cam-${i}`]);
        backend.send({
          type: "setSubscriptionList",
          subscriptions: ids.map(([scheme, id]) => ({
            subscriptionIdentifier: id,
            rtspUrl: urls[scheme],
            modelUrl: files.url("/detect.mpta"),
            modelId: 1,
            modelName: "Detect",
          })),
        });
        const results = await Promise.allSettled(ids.map(([scheme, id]) =>
          backend.waitFor(
            (m: Message) => m.type === "imageDetection" && m.subscriptionIdentifier === id,
            `imageDetection of the ${scheme} subscription`,
            180_000,
          )
        ));
        const unread = ids.filter((_, i) => results[i].status === "rejected").map(([s]) => s);
        assert.deepEqual(unread, [], `schemes without frames: ${unread.join(" ")}`);
        assert.deepEqual(backend.ofType("error"), [], "no subscription was refused");

        // local inputs are refused at the edge, naming the field and what is allowed
        for (const url of ["file:///etc/hostname", "ffmpeg:rtsp://127.0.0.1/x", `dir:${dir}`]) {
          const mark = backend.received.length;
          backend.send({
            type: "subscribe",
            payload: {
              subscriptionIdentifier: "display-x;cam-x",
              rtspUrl: url,
              modelUrl: files.url("/detect.mpta"),
              modelId: 1,
            },
          });
          const err = await backend.waitFor(
            (m) => m.type === "error",
            `error for ${url}`,
            10_000,
            mark,
          );
          assert.match(err.message, /"payload\.rtspUrl" has scheme "[a-z]+:"; allowed: .*rtmp:/);
          assert.equal(err.received, "subscribe");
        }
      } catch (err) {
        console.error(worker.output().slice(-8000));
        throw err;
      }
    } finally {
      for (const stop of stops.reverse()) {
        try {
          await stop();
        } catch { /* already gone */ }
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
