/**
 * ffmpeg as a real frame producer for tests. Every helper returns a `Child`: stop it in `finally`.
 */
import { freePort } from "./ports.ts";
import { type Child, spawnChild } from "./process.ts";

export interface TestSourceOptions {
  /** `WIDTHxHEIGHT` of the generated picture (lavfi testsrc2). */
  size?: string;
  /** Frames per second generated. */
  rate?: number;
  /** JPEG quality scale, 2 (best) … 31. */
  quality?: number;
  /** Stop after this many frames; endless when absent. */
  frames?: number;
  /** Pace output in real time (`-re`) instead of as fast as possible. */
  realtime?: boolean;
}

function inputArgs(o: TestSourceOptions): string[] {
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    ...(o.realtime ? ["-re"] : []),
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${o.size ?? "640x360"}:rate=${o.rate ?? 10}`,
    ...(o.frames !== undefined ? ["-frames:v", String(o.frames)] : []),
    "-q:v",
    String(o.quality ?? 5),
  ];
}

/** Runs ffmpeg with the given arguments. */
export function startFfmpeg(args: string[]): Child {
  return spawnChild("ffmpeg", ["-nostdin", ...args]);
}

export interface FolderWriterOptions extends TestSourceOptions {
  dir: string;
  /** File name pattern with one printf number, default `frame_%06d.jpg`. */
  pattern?: string;
  /** First number used in the pattern. */
  startNumber?: number;
}

/** ffmpeg writing numbered JPEG files into a folder (`image2` muxer), as the seed's producer does. */
export function writeJpegFrames(o: FolderWriterOptions): Child {
  return startFfmpeg([
    ...inputArgs({ realtime: true, ...o }),
    "-f",
    "image2",
    "-start_number",
    String(o.startNumber ?? 1),
    `${o.dir}/${o.pattern ?? "frame_%06d.jpg"}`,
  ]);
}

/** Writes `frames` JPEG files into the folder as fast as possible and resolves when ffmpeg is done. */
export async function writeJpegFramesNow(o: FolderWriterOptions & { frames: number }) {
  const child = writeJpegFrames({ realtime: false, ...o });
  const status = await child.status;
  if (!status.success) throw new Error(`ffmpeg failed (${status.code}):\n${child.output()}`);
}

export interface MjpegTcpServer extends Child {
  port: number;
}

/**
 * ffmpeg listening on a loopback TCP port and sending raw MJPEG (concatenated JPEGs) to the first
 * client, like `rpicam-vid --listen -o tcp://…`. ffmpeg serves one client, then exits.
 */
export async function serveMjpegOverTcp(
  o: TestSourceOptions & { port?: number } = {},
): Promise<MjpegTcpServer> {
  const port = o.port ?? freePort();
  const child = startFfmpeg([
    ...inputArgs({ realtime: true, ...o }),
    "-c:v",
    "mjpeg",
    "-f",
    "mjpeg",
    `tcp://127.0.0.1:${port}?listen=1`,
  ]);
  try {
    await listening(port, child);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { ...child, port };
}

/** Waits until ffmpeg listens, without connecting (a probe connection would be ffmpeg's one client). */
export async function listening(port: number, child: Child, timeoutMs = 10_000): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const table = await Deno.readTextFile("/proc/net/tcp");
      // local_address 0100007F:PORT in state 0A (LISTEN) or, once a client was accepted and
      // ffmpeg closed its listening socket, 01 (ESTABLISHED)
      if (
        new RegExp(`^\\s*\\d+: 0100007F:${hex} [0-9A-F]{8}:[0-9A-F]{4} (0A|01) `, "m").test(table)
      ) {
        return;
      }
    } catch {
      // No /proc: a probe connection would use up ffmpeg's single client, so give it a moment;
      // clients reconnect anyway if they come too early.
      await new Promise((r) => setTimeout(r, 1000));
      return;
    }
    if (child.output().length > 0 && /error/i.test(child.output())) {
      throw new Error(`ffmpeg failed to listen on ${port}:\n${child.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`ffmpeg did not listen on 127.0.0.1:${port}:\n${child.output()}`);
}
