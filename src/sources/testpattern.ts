import sharp from "sharp";
import type { FrameCache } from "../core/mod.ts";
import { sleep } from "../core/mod.ts";
import { ReconnectingSource } from "./reconnect_loop.ts";
import type { Source, SourceOptions } from "./source.ts";

/** `testpattern:?fps=10&size=640x360` — generated frames, so the product can be tried without a camera. */
class TestPatternSource extends ReconnectingSource {
  readonly fps: number;
  readonly width: number;
  readonly height: number;

  constructor(camera: string, spec: string, cache: FrameCache, opts: SourceOptions) {
    super(camera, spec, cache, opts);
    const params = new URLSearchParams(spec.slice(spec.indexOf(":") + 1).replace(/^\?/, ""));
    this.fps = Math.min(60, Math.max(0.1, Number(params.get("fps") ?? opts.fps ?? 10) || 10));
    const size = /^(\d+)x(\d+)$/.exec(params.get("size") ?? "640x360");
    this.width = Math.min(3840, Math.max(16, Number(size?.[1] ?? 640)));
    this.height = Math.min(2160, Math.max(16, Number(size?.[2] ?? 360)));
  }

  protected async connect(signal: AbortSignal): Promise<void> {
    const period = 1000 / this.fps;
    let n = 0;
    let due = performance.now();
    while (!signal.aborted) {
      const jpeg = await renderPattern(this.camera, n++, this.width, this.height);
      this.emit(jpeg, this.width, this.height);
      due += period;
      const wait = due - performance.now();
      if (wait < -period) due = performance.now();
      await sleep(Math.max(0, wait), signal);
    }
  }
}

/**
 * Renders run one at a time over all test-pattern cameras: librsvg and libvips working sets for
 * dozens of simultaneous renders cost far more memory than the frames themselves.
 */
let renderQueue: Promise<unknown> = Promise.resolve();

const colors = ["#c0c0c0", "#c0c000", "#00c0c0", "#00c000", "#c000c0", "#c00000", "#0000c0"];

export async function renderPattern(
  label: string,
  n: number,
  width: number,
  height: number,
): Promise<Uint8Array> {
  const barW = width / colors.length;
  const bars = colors.map((c, i) =>
    `<rect x="${i * barW}" y="0" width="${barW + 1}" height="${height * 0.7}" fill="${c}"/>`
  ).join("");
  const x = (n * 8) % width;
  const time = new Date().toISOString().slice(11, 23);
  const fontSize = Math.round(height / 9);
  const safeLabel = label.replace(/[<>&"']/g, "_");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<rect width="100%" height="100%" fill="#202020"/>${bars}
<rect x="${x}" y="${height * 0.7}" width="${width / 16}" height="${height * 0.3}" fill="#ffffff"/>
<text x="10" y="${
    height - 10
  }" font-family="monospace" font-size="${fontSize}" fill="#ffff00">${safeLabel} #${n} ${time}</text>
</svg>`;
  const render = renderQueue.then(() =>
    sharp(new TextEncoder().encode(svg)).jpeg({ quality: 80 }).toBuffer()
  );
  renderQueue = render.catch(() => {});
  const buf = await render;
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function createTestPatternSource(
  camera: string,
  spec: string,
  cache: FrameCache,
  opts: SourceOptions,
): Source {
  return new TestPatternSource(camera, spec, cache, opts);
}
