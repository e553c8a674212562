/**
 * Fixtures for `detector run` tests: a generated car-scene video (red car body, green frontal),
 * archives built from the colour test models, and the processes a detector has spawned.
 */
import { zipDeterministic } from "../../src/mpta/pack.ts";
import { fullExampleModels, fullExamplePipeline } from "../../src/testmodels/example_archives.ts";

export interface CarVideoOptions {
  width?: number;
  height?: number;
  fps?: number;
  seconds?: number;
  /** Encode with libx264's defaults (B-frames, 250-frame GOP) instead of short GOPs, no B-frames. */
  x264Defaults?: boolean;
}

/** Boxes `[x, y, w, h]` of the car scene's Car (red) and Frontal (green) at `w`×`h`. */
export function carSceneBoxes(w: number, h: number): { car: number[]; front: number[] } {
  const car = [
    Math.round(w * 0.15),
    Math.round(h * 0.2),
    Math.round(w * 0.55),
    Math.round(h * 0.6),
  ];
  const front = [
    car[0] + Math.round(car[2] * 0.25),
    car[1] + Math.round(car[3] * 0.6),
    Math.round(car[2] * 0.5),
    Math.round(car[3] * 0.3),
  ];
  return { car, front };
}

/**
 * An H.264 video of a static scene the colour models read as Car (red) with a Frontal (green)
 * region; the brand classifier maps pure green to "Honda", body type maps pure red to "Sedan".
 */
export async function carSceneVideo(opts: CarVideoOptions = {}): Promise<string> {
  const w = opts.width ?? 640;
  const h = opts.height ?? 360;
  const fps = opts.fps ?? 10;
  const seconds = opts.seconds ?? 60;
  const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/detector-test-videos`;
  await Deno.mkdir(dir, { recursive: true });
  const encoding = opts.x264Defaults ? "_x264defaults" : "";
  const path = `${dir}/car_scene_${w}x${h}_${fps}fps_${seconds}s${encoding}.mp4`;
  try {
    if ((await Deno.stat(path)).size > 0) return path;
  } catch {
    // not made yet
  }
  const { car, front } = carSceneBoxes(w, h);
  const tmp = `${path}.${crypto.randomUUID()}.tmp.mp4`;
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      `color=c=black:s=${w}x${h}:r=${fps}:d=${seconds},` +
      `drawbox=x=${car[0]}:y=${car[1]}:w=${car[2]}:h=${car[3]}:color=0xFF0000@1:t=fill,` +
      `drawbox=x=${front[0]}:y=${front[1]}:w=${front[2]}:h=${front[3]}:color=0x00FF00@1:t=fill`,
      "-c:v",
      "libx264",
      ...(opts.x264Defaults ? [] : ["-preset", "veryfast", "-bf", "0", "-g", String(fps)]),
      "-pix_fmt",
      "yuv420p",
      tmp,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`ffmpeg could not make ${path}: ${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.rename(tmp, path);
  return path;
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2));

/**
 * The full pympta example (Car+Frontal detection, brand and body-type branches) with its colour
 * models; `databases: false` drops the Redis/PostgreSQL blocks and the actions, `"redis"` keeps only
 * Redis and its actions (no PostgreSQL, no parallel actions).
 */
export function vehicleArchive(
  opts: { databases?: boolean | "redis"; publish?: string } = {},
): Uint8Array {
  const pipeline = fullExamplePipeline() as Record<string, Record<string, unknown>>;
  if (opts.publish !== undefined) {
    const actions = pipeline.pipeline.actions as Record<string, unknown>[];
    for (const a of actions) if (a.type === "redis_publish") a.message = opts.publish;
  }
  if (opts.databases === "redis") {
    delete pipeline.postgresql;
    pipeline.pipeline.parallelActions = [];
  } else if (opts.databases === false) {
    delete pipeline.redis;
    delete pipeline.postgresql;
    pipeline.pipeline.actions = [];
    pipeline.pipeline.parallelActions = [];
  }
  const files: Record<string, Uint8Array> = { "pipeline.json": json(pipeline) };
  for (const [name, bytes] of Object.entries(fullExampleModels())) files[name] = bytes;
  return zipDeterministic(files);
}

/** Pids of the child processes (zombies included) of `pid` whose command name is `name`. */
export async function childPids(pid: number, name: string): Promise<number[]> {
  const out: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let stat: string;
    try {
      stat = await Deno.readTextFile(`/proc/${e.name}/stat`);
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = stat.slice(close + 2).split(" ")[1]; // zombies count: they were not reaped
    if (Number(ppid) === pid && comm === name) out.push(Number(e.name));
  }
  return out;
}
