/**
 * Starts a real RTSP server (GStreamer's gst-rtsp-server, `rtsp_server.py`) streaming a test
 * video, and a "silent" RTSP peer that accepts TCP connections and never answers.
 */
import { freePort } from "./ports.ts";
import { type Child, spawnChild } from "./process.ts";

const script = new URL("./rtsp_server.py", import.meta.url).pathname;

/** Debian's python3 has the GStreamer bindings (python3-gi); a pyenv/venv one on PATH may not. */
function python(): string {
  const wanted = Deno.env.get("DETECTOR_TEST_PYTHON");
  if (wanted) return wanted;
  try {
    if (Deno.statSync("/usr/bin/python3").isFile) return "/usr/bin/python3";
  } catch {
    // not Debian's layout
  }
  return "python3";
}

export interface RtspServer {
  /** `rtsp://127.0.0.1:PORT/mount` (without credentials). */
  url: string;
  port: number;
  mount: string;
  child: Child;
  /** Server-side send times: pts in ms → epoch ms (with `reportSends`). */
  sends(): Map<number, number>;
  stop(): Promise<void>;
}

export interface RtspServerOptions {
  file: string;
  port?: number;
  mount?: string;
  user?: string;
  password?: string;
  /** How `user`/`password` are checked (default basic). */
  auth?: "basic" | "digest";
  encoding?: "h264" | "h265" | "mjpeg";
  /** Also stream the file's AAC track. */
  audio?: boolean;
  /** One pipeline for every client: a later client joins the running stream (mid-GOP). */
  shared?: boolean;
  reportSends?: boolean;
}

export async function startRtspServer(opts: RtspServerOptions): Promise<RtspServer> {
  const port = opts.port ?? freePort();
  const mount = opts.mount ?? "/test";
  const args = [script, "--port", String(port), "--file", opts.file, "--mount", mount];
  if (opts.user !== undefined) args.push("--user", opts.user, "--password", opts.password ?? "");
  if (opts.auth) args.push("--auth", opts.auth);
  if (opts.encoding) args.push("--encoding", opts.encoding);
  if (opts.audio) args.push("--audio");
  if (opts.shared) args.push("--shared");
  if (opts.reportSends) args.push("--report-sends");
  let lastError: unknown;
  for (let attempt = 0; attempt < 20; attempt++) {
    const child = spawnChild(python(), args);
    try {
      await child.waitFor(/^READY /m, 15_000);
      return {
        url: `rtsp://127.0.0.1:${port}${mount}`,
        port,
        mount,
        child,
        sends: () => parseSends(child.output()),
        stop: async () => {
          await child.stop(3000);
        },
      };
    } catch (err) {
      lastError = err;
      await child.stop(1000);
      // The port of a server we just stopped can stay busy for a moment: retry on the same port.
      if (!/cannot listen/.test(child.output())) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw lastError;
}

function parseSends(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^SENT (\d+) ([\d.]+)$/gm)) {
    out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

export interface SilentPeer {
  url: string;
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  stop(): void;
}

/** Accepts TCP connections, reads and discards what arrives, never sends a byte. */
export function startSilentPeer(path = "/silent"): SilentPeer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns = new Set<Deno.Conn>();
  let accepted = 0;
  (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        conns.add(conn);
        (async () => {
          const buf = new Uint8Array(4096);
          try {
            while ((await conn.read(buf)) !== null) { /* swallow */ }
          } catch { /* closed */ }
          conns.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        })();
      }
    } catch { /* listener closed */ }
  })();
  return {
    url: `rtsp://127.0.0.1:${port}${path}`,
    port,
    accepted: () => accepted,
    stop() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}
