import { Buffer } from "node:buffer";
import type { Frame } from "../core/mod.ts";
import type { ServeContext } from "./context.ts";
import { perFrame, sseFrameResponse } from "./sse_stream.ts";

const encoder = new TextEncoder();

const imageEvent = perFrame((frame: Frame) => {
  const data = JSON.stringify({
    camera: frame.camera,
    seq: frame.seq,
    time: new Date(frame.at).toISOString(),
    width: frame.width ?? null,
    height: frame.height ?? null,
    image: Buffer.from(frame.jpeg.buffer, frame.jpeg.byteOffset, frame.jpeg.byteLength)
      .toString("base64"),
  });
  return encoder.encode(`event: image\nid: ${frame.seq}\ndata: ${data}\n\n`);
});

/**
 * `GET /cameras/{name}/events?images=1` (the original camera server's stream-image): one `image` event per new
 * frame whose data is JSON with the JPEG in base64 (`image`), at most `fps` per second.
 */
export function imageEventsResponse(ctx: ServeContext, camera: string, fps: number): Response {
  const countSent = () =>
    ctx.metrics.inc("detector_http_image_events_total", "Frames sent as SSE image events");
  return sseFrameResponse(ctx, camera, fps, imageEvent, countSent);
}
