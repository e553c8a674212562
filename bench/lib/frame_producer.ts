/**
 * Frame producers for benchmarks: they write time-stamped JPEGs at a fixed rate into a source that
 * `detector serve` reads, like a camera would.
 */
import { sourceKindOf } from "../../src/sources/registry.ts";
import { nowMs, stampJpeg } from "./bench_frame.ts";

export interface FrameProducer {
  /** The `--source` spec serve reads this producer with. */
  spec: string;
  /** Write times (ms, wall clock) of every frame written so far. */
  written: number[];
  start(): void;
  stop(): Promise<void>;
}

/** Runs `tick` every `1000 / fps` ms on absolute deadlines until the signal fires. */
async function paced(fps: number, signal: AbortSignal, tick: (n: number) => Promise<void>) {
  const period = 1000 / fps;
  let due = performance.now();
  for (let n = 1; !signal.aborted; n++) {
    await tick(n);
    due += period;
    const wait = due - performance.now();
    if (wait < -period) due = performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * An rpicam-vid style MJPEG-over-TCP server: serve's `tcp://` source connects and receives the
 * frames back to back. Frames are only written while a reader is connected.
 */
export function tcpProducer(jpeg: Uint8Array, fps: number): FrameProducer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const abort = new AbortController();
  const written: number[] = [];
  let conn: Deno.Conn | undefined;
  let running: Promise<void> | undefined;
  const accept = (async () => {
    for await (const c of listener) {
      try {
        conn?.close();
      } catch { /* gone */ }
      conn = c;
      c.setNoDelay(true);
    }
  })().catch(() => {});
  return {
    spec: `tcp://127.0.0.1:${port}`,
    written,
    start() {
      running = paced(fps, abort.signal, async (n) => {
        const c = conn;
        if (!c) return;
        const at = nowMs();
        const frame = stampJpeg(jpeg, n, at);
        try {
          let off = 0;
          while (off < frame.byteLength) off += await c.write(frame.subarray(off));
          written.push(at);
        } catch {
          if (conn === c) conn = undefined;
        }
      });
    },
    async stop() {
      abort.abort();
      await running;
      try {
        conn?.close();
      } catch { /* gone */ }
      listener.close();
      await accept;
    },
  };
}

/** A folder that receives one JPEG file per frame (written to a temporary name, then renamed). */
export async function dirProducer(jpeg: Uint8Array, fps: number): Promise<FrameProducer> {
  const dir = await Deno.makeTempDir({ prefix: "detector_bench_frames_" });
  const abort = new AbortController();
  const written: number[] = [];
  let running: Promise<void> | undefined;
  return {
    spec: `dir:${dir}`,
    written,
    start() {
      running = paced(fps, abort.signal, async (n) => {
        const at = nowMs();
        const name = `${dir}/frame_${String(n).padStart(8, "0")}.jpg`;
        await Deno.writeFile(`${name}.tmp`, stampJpeg(jpeg, n, at));
        await Deno.rename(`${name}.tmp`, name);
        written.push(at);
        if (n > 3) {
          await Deno.remove(`${dir}/frame_${String(n - 3).padStart(8, "0")}.jpg`).catch(() => {});
        }
      });
    },
    async stop() {
      abort.abort();
      await running;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The TCP producer when serve has a `tcp://` source, else the folder producer. */
export async function bestProducer(jpeg: Uint8Array, fps: number): Promise<FrameProducer> {
  if (sourceKindOf("tcp://127.0.0.1:1")) return tcpProducer(jpeg, fps);
  return await dirProducer(jpeg, fps);
}
