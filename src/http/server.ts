import { logger } from "../core/log.ts";
import type { Router } from "./router.ts";

export interface HttpServer {
  url: string;
  port: number;
  /**
   * Stops accepting and waits for open responses to finish, at most `graceMs`: a client that
   * stopped reading would otherwise hold the process forever. Its connection dies with it.
   */
  shutdown(graceMs?: number): Promise<void>;
  finished: Promise<void>;
}

const log = logger("http");

function listenError(err: unknown, host: string, port: number): Error {
  if (err instanceof Deno.errors.AddrInUse) {
    return new Error(`port ${port} on ${host} is already in use; pick another with --port`);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new Error(`not allowed to listen on ${host}:${port} (ports below 1024 need root)`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function startHttpServer(router: Router, host: string, port: number): HttpServer {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: host,
      port,
      onListen: () => {},
      onError: (err) => {
        log.error("request failed", { error: String(err) });
        return new Response("internal error", { status: 500 });
      },
    }, router.handle);
  } catch (err) {
    throw listenError(err, host, port);
  }
  const addr = server.addr;
  const shownHost = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    url: `http://${shownHost}:${addr.port}`,
    port: addr.port,
    shutdown: async (graceMs = 2000) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<"expired">((resolve) => {
        timer = setTimeout(() => resolve("expired"), graceMs);
      });
      const done = await Promise.race([server.shutdown().then(() => "done" as const), expired]);
      clearTimeout(timer);
      if (done === "expired") {
        log.warn(`responses still open ${graceMs} ms after shutdown began; dropping them`);
      }
    },
    finished: server.finished,
  };
}
