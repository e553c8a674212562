/**
 * A corpus of the encodings cameras and NVRs really send, generated with ffmpeg at the encoders'
 * defaults (x264/x265: B-frames, GOP 250, no `-tune zerolatency`), each served by the harness's
 * real RTSP server (gst-rtsp-server). Clips are short and made once per test run in a temp dir.
 */
import { type RtspServer, startRtspServer } from "./rtsp_server.ts";

export const CORPUS_FPS = 25;
/** Long enough for a first frame plus a 5 s measurement with margin. */
const CLIP_SECONDS = 10;

export interface CorpusCase {
  name: string;
  /** What the README table calls it. */
  label: string;
  width: number;
  height: number;
  /** ffmpeg video encoder arguments. */
  video: string[];
  encoding?: "h264" | "h265" | "mjpeg";
  container?: "mp4" | "ts";
  audio?: boolean;
  /** `#transport=` of the source. */
  transport?: "udp";
  auth?: "digest";
  /** The server is stopped and started again mid-stream. */
  restart?: boolean;
  /** The second half of the clip has this size. */
  resizeTo?: [number, number];
  /** Served live (one pipeline for all clients); the detector joins this long after the start. */
  joinMidGopS?: number;
  /** Keyframe interval in seconds when not the encoder's default (for the targets). */
  gopS?: number;
  /** Clip length when not the default. */
  seconds?: number;
  /**
   * Least fps the test accepts (default 2): liveness, far above the one frame per GOP of a
   * broken decode start, not speed: a 2-core machine shared with other tests can fall far below
   * the source rate. Decoding and re-encoding 2560×1440 is CPU-bound there.
   */
  minFps?: number;
}

const x264 = (profile: string) => ["-c:v", "libx264", "-profile:v", profile, "-pix_fmt", "yuv420p"];
const x265 = (extra: string[] = []) => [
  "-c:v",
  "libx265",
  "-pix_fmt",
  "yuv420p",
  "-x265-params",
  ["log-level=error", ...extra].join(":"),
];

export const corpusCases: CorpusCase[] = [
  {
    name: "h264-baseline",
    label: "H.264 baseline",
    width: 640,
    height: 360,
    video: x264("baseline"),
  },
  {
    name: "h264-main",
    label: "H.264 main, B-frames, GOP 250",
    width: 640,
    height: 360,
    video: x264("main"),
  },
  {
    name: "h264-high",
    label: "H.264 high, B-frames, GOP 250",
    width: 640,
    height: 360,
    video: x264("high"),
  },
  {
    name: "h264-gop10",
    label: "H.264 high, GOP 10 s",
    width: 640,
    height: 360,
    video: [...x264("high"), "-g", String(10 * CORPUS_FPS)],
    gopS: 10,
  },
  {
    name: "h264-gop20",
    label: "H.264 high, GOP 20 s",
    width: 640,
    height: 360,
    video: [...x264("high"), "-g", String(20 * CORPUS_FPS)],
    gopS: 20,
  },
  {
    name: "h264-midgop",
    label: "H.264 high, GOP 4 s, live stream joined mid-GOP",
    width: 640,
    height: 360,
    video: [...x264("high"), "-g", String(4 * CORPUS_FPS)],
    gopS: 4,
    joinMidGopS: 1.5,
    seconds: 24,
  },
  {
    name: "hevc-bframes",
    label: "H.265 main, B-frames",
    width: 640,
    height: 360,
    video: x265(),
    encoding: "h265",
  },
  {
    name: "hevc-no-bframes",
    label: "H.265 main, no B-frames",
    width: 640,
    height: 360,
    video: x265(["bframes=0"]),
    encoding: "h265",
  },
  {
    name: "mjpeg",
    label: "MJPEG",
    width: 640,
    height: 360,
    video: ["-c:v", "mjpeg", "-q:v", "5", "-pix_fmt", "yuvj420p"],
    encoding: "mjpeg",
  },
  {
    name: "h264-aac",
    label: "H.264 high + AAC audio track",
    width: 640,
    height: 360,
    video: x264("high"),
    audio: true,
  },
  {
    name: "h264-1440p",
    label: "H.264 high 2560×1440 (preset veryfast)",
    width: 2560,
    height: 1440,
    video: [...x264("high"), "-preset", "veryfast"],
    seconds: 8,
    minFps: 0.5,
  },
  {
    name: "h264-1366x768",
    label: "H.264 high 1366×768 (odd size)",
    width: 1366,
    height: 768,
    video: x264("high"),
  },
  {
    name: "h264-udp",
    label: "H.264 high over RTSP/UDP",
    width: 640,
    height: 360,
    video: x264("high"),
    transport: "udp",
  },
  {
    name: "h264-digest",
    label: "H.264 high, RTSP Digest auth",
    width: 640,
    height: 360,
    video: x264("high"),
    auth: "digest",
  },
  {
    name: "h264-restart",
    label: "H.264 high, server restarted mid-stream",
    width: 640,
    height: 360,
    video: x264("high"),
    restart: true,
  },
  {
    name: "h264-resize",
    label: "H.264 high, 640×360 → 320×240 mid-stream",
    width: 640,
    height: 360,
    video: x264("high"),
    container: "ts",
    resizeTo: [320, 240],
  },
];

async function ffmpeg(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-hide_banner", "-loglevel", "error", "-y", ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`ffmpeg ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

function encodeArgs(c: CorpusCase, w: number, h: number, seconds: number, out: string, offset = 0) {
  const args = ["-f", "lavfi", "-i", `testsrc2=size=${w}x${h}:rate=${CORPUS_FPS}`];
  if (c.audio) args.push("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000");
  args.push("-t", String(seconds), ...c.video);
  if (c.audio) args.push("-c:a", "aac", "-b:a", "64k");
  if (offset) args.push("-output_ts_offset", String(offset));
  if ((c.container ?? "mp4") === "ts") args.push("-f", "mpegts");
  args.push(out);
  return args;
}

/** Encodes the clip of one case into `dir`. */
export async function makeClip(dir: string, c: CorpusCase): Promise<string> {
  const ext = c.container ?? "mp4";
  const path = `${dir}/${c.name}.${ext}`;
  if (c.resizeTo) {
    const half = CLIP_SECONDS / 2;
    await ffmpeg(encodeArgs(c, c.width, c.height, half, `${path}.a`));
    await ffmpeg(encodeArgs(c, c.resizeTo[0], c.resizeTo[1], half, `${path}.b`, half));
    const a = await Deno.readFile(`${path}.a`);
    const b = await Deno.readFile(`${path}.b`);
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    await Deno.writeFile(path, both);
  } else {
    await ffmpeg(encodeArgs(c, c.width, c.height, c.seconds ?? CLIP_SECONDS, path));
  }
  return path;
}

/** Runs `fn` over `items` with at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const CORPUS_USER = "viewer";
export const CORPUS_PASSWORD = "s3cret@cam";

/** Starts the RTSP server for one case; `url` carries the credentials and `#transport=`. */
export async function serveCase(
  c: CorpusCase,
  file: string,
  port?: number,
): Promise<{ server: RtspServer; spec: string }> {
  const server = await startRtspServer({
    file,
    port,
    encoding: c.encoding ?? "h264",
    audio: c.audio,
    shared: c.joinMidGopS !== undefined,
    ...(c.auth ? { user: CORPUS_USER, password: CORPUS_PASSWORD, auth: c.auth } : {}),
  });
  let spec = server.url;
  if (c.auth) {
    spec = spec.replace(
      "rtsp://",
      `rtsp://${CORPUS_USER}:${encodeURIComponent(CORPUS_PASSWORD)}@`,
    );
  }
  if (c.transport) spec += `#transport=${c.transport}`;
  return { server, spec };
}
