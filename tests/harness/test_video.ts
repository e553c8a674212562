/**
 * A generated traffic video (ffmpeg lavfi): on a neutral grey background, an orange "car"
 * rectangle with a lime "frontal" rectangle inside crosses the frame from left to right, once per
 * pass, with an empty gap between passes. The colour test models see the car as `Car` (red
 * family), the frontal as `Frontal` (green family); the brand classifier maps the lime frontal to
 * Toyota and the body-type classifier the orange car to SUV.
 */
export const TEST_VIDEO_BRAND = "Toyota";
export const TEST_VIDEO_BODY_TYPE = "SUV";

export interface TestVideoOptions {
  passes: number;
  fps?: number;
  width?: number;
  height?: number;
  /** Seconds the car takes to cross (default 2.4). */
  passSeconds?: number;
  /** Seconds without a car after each pass (default 1.6). */
  gapSeconds?: number;
  /** Car and frontal sizes in pixels (default 200×120 and 100×50). */
  car?: [number, number];
  frontal?: [number, number];
  /** Colours (default orange car = SUV, lime frontal = Toyota). */
  carRgb?: [number, number, number];
  frontalRgb?: [number, number, number];
}

export interface TestVideo {
  path: string;
  fps: number;
  frames: number;
  width: number;
  height: number;
  passes: number;
}

const hex = (rgb: [number, number, number]) =>
  "0x" + rgb.map((v) => v.toString(16).padStart(2, "0")).join("");

export async function makeTestVideo(path: string, opts: TestVideoOptions): Promise<TestVideo> {
  const fps = opts.fps ?? 5;
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const pass = opts.passSeconds ?? 2.4;
  const gap = opts.gapSeconds ?? 1.6;
  const [cw, ch] = opts.car ?? [200, 120];
  const [fw, fh] = opts.frontal ?? [100, 50];
  const period = pass + gap;
  const duration = period * opts.passes;
  const speed = (width + cw) / pass;
  const cy = Math.round((height - ch) / 2);
  // The car (with its frontal drawn on it) is overlaid at a time-dependent x: it enters at -cw,
  // leaves at width, and is parked far off-screen during the gap.
  const x = `if(lt(mod(t\\,${period})\\,${pass})\\,${-cw}+mod(t\\,${period})*${speed}\\,-10000)`;
  const car = `color=c=${hex(opts.carRgb ?? [255, 100, 0])}:s=${cw}x${ch}:r=${fps},drawbox=x=${
    Math.round((cw - fw) / 2)
  }:y=${ch - fh - 10}:w=${fw}:h=${fh}:color=${hex(opts.frontalRgb ?? [100, 255, 0])}:t=fill`;
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      `color=c=0x5a5a5a:s=${width}x${height}:r=${fps}:d=${duration}`,
      "-f",
      "lavfi",
      "-i",
      car,
      "-filter_complex",
      `[0][1]overlay=x='${x}':y=${cy}:shortest=1`,
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-pix_fmt",
      "yuv420p",
      "-crf",
      "18",
      path,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `ffmpeg could not make the test video: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return { path, fps, frames: Math.round(duration * fps), width, height, passes: opts.passes };
}
