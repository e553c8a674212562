import { DEFAULT_MAX_FRAME_BYTES } from "../core/mod.ts";
import type { FrameCache } from "../core/mod.ts";
import { errorMessage } from "../core/mod.ts";
import { pumpJpegStream } from "./jpeg_stream.ts";
import { ReconnectingSource } from "./reconnect_loop.ts";
import type { Source, SourceOptions } from "./source.ts";

export class TcpSpecError extends Error {}

export interface TcpAddress {
  hostname: string;
  port: number;
}

/** `tcp://host:port` (IPv6 as `tcp://[::1]:9000`). */
export function parseTcpSpec(spec: string): TcpAddress {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new TcpSpecError(`"${spec}" is not a tcp://host:port address`);
  }
  const port = Number(url.port);
  if (url.protocol !== "tcp:" || !url.hostname || !Number.isInteger(port) || port < 1) {
    throw new TcpSpecError(`"${spec}" is not a tcp://host:port address (the port is required)`);
  }
  if ((url.pathname && url.pathname !== "/") || url.search) {
    throw new TcpSpecError(`"${spec}": a tcp:// source takes no path or query`);
  }
  return { hostname: url.hostname.replace(/^\[(.*)\]$/, "$1"), port };
}

/** Connects, or fails after `timeoutMs` (a connection that arrives later is closed at once). */
export async function connectTcp(
  addr: TcpAddress,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Deno.TcpConn> {
  const attempt = Deno.connect({ hostname: addr.hostname, port: addr.port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`connect to ${addr.hostname}:${addr.port} timed out after ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
    onAbort = () => reject(new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([attempt, giveUp]);
  } catch (err) {
    attempt.then((c) => c.close(), () => {});
    if (err instanceof Error && err.message.startsWith("connect to")) throw err;
    if (signal.aborted) throw err;
    throw new Error(`connect to ${addr.hostname}:${addr.port} failed: ${errorMessage(err)}`);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

/**
 * `tcp://host:port` — raw MJPEG (JPEGs back to back) over one persistent TCP connection, as
 * `rpicam-vid --listen -o tcp://0.0.0.0:9000` or `ffmpeg -f mjpeg tcp://…?listen` send it.
 */
class TcpMjpegSource extends ReconnectingSource {
  constructor(
    camera: string,
    spec: string,
    cache: FrameCache,
    opts: SourceOptions,
    readonly addr: TcpAddress,
  ) {
    super(camera, spec, cache, opts);
  }

  protected async connect(signal: AbortSignal): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const conn = await connectTcp(this.addr, timeoutMs, signal);
    const close = () => {
      try {
        conn.close();
      } catch { /* already closed */ }
    };
    signal.addEventListener("abort", close, { once: true });
    try {
      conn.setNoDelay(true);
      this.log.debug("connected", { peer: `${this.addr.hostname}:${this.addr.port}` });
      await pumpJpegStream(conn.readable, {
        camera: this.camera,
        maxFrameBytes: this.opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
        stallMs: timeoutMs,
        frame: (f) => this.emit(f.jpeg, f.width, f.height),
        reject: (reason) => this.reject(reason),
        metrics: this.opts.metrics,
        progress: (detail) => this.setState(this.status().state, undefined, detail),
      });
    } finally {
      signal.removeEventListener("abort", close);
      close();
    }
  }
}

export function createTcpMjpegSource(
  camera: string,
  spec: string,
  cache: FrameCache,
  opts: SourceOptions,
): Source {
  return new TcpMjpegSource(camera, spec, cache, opts, parseTcpSpec(spec));
}
