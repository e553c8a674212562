/**
 * The floor for MJPEG fan-out: a bare Deno.serve handler that makes a time-stamped part from the
 * same JPEG at a fixed rate and hands it to every stream that has taken the previous one. No
 * source, no cache, no rate cap. Usage: bare_mjpeg_server.ts FILE FPS
 */
import { stampJpeg } from "./bench_frame.ts";

const jpeg = await Deno.readFile(Deno.args[0]);
const fps = Number(Deno.args[1] ?? "30");
const encoder = new TextEncoder();
const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
let n = 0;

setInterval(() => {
  const body = stampJpeg(jpeg, ++n);
  const head = encoder.encode(
    `--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${body.byteLength}\r\n\r\n`,
  );
  const part = new Uint8Array(head.byteLength + body.byteLength + 2);
  part.set(head);
  part.set(body, head.byteLength);
  part.set([13, 10], part.byteLength - 2);
  for (const c of streams) {
    if ((c.desiredSize ?? 0) > 0) c.enqueue(part);
  }
}, 1000 / fps);

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: (addr) => console.log(`listening on http://127.0.0.1:${addr.port}`),
}, () => {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      streams.add(c);
    },
    cancel() {
      streams.delete(controller);
    },
  }, { highWaterMark: 1 });
  return new Response(body, {
    headers: { "content-type": "multipart/x-mixed-replace; boundary=frame" },
  });
});
