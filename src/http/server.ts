import { logger } from "../core/mod.ts";
import { jsonError } from "./responses.ts";
import type { Router } from "./router.ts";
import { type ConnectionLimits, defaultConnectionLimits, FrontDoor } from "./front_door.ts";
import { withBody } from "./bytes_response.ts";
import { RouterResponder, type ServeRequest } from "./direct_responder.ts";

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

export function startHttpServer(
  router: Router,
  host: string,
  port: number,
  limits: ConnectionLimits = defaultConnectionLimits,
): HttpServer {
  let door: FrontDoor | undefined;
  const serveRequest: ServeRequest = (req, client, completed) => {
    client.inFlight++;
    client.awaiting++;
    const upgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
    completed.catch(() => {}).finally(() => client.inFlight--);
    const answered = (res: Response) => {
      client.awaiting--;
      client.lastActivity = Date.now();
      if (upgrade && res.status === 101) client.upgraded = true;
      return res;
    };
    const res = router.handle(req, { remoteAddr: client.remoteAddr, completed });
    if (res instanceof Promise) {
      return res.then(answered, (err) => {
        client.awaiting--;
        throw err;
      });
    }
    return answered(res);
  };
  const handler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => {
    const client = door?.clientFor(info.remoteAddr.port);
    if (!client) return jsonError(421, "connect through the public port");
    const res = serveRequest(req, client, info.completed);
    return res instanceof Promise ? res.then(withBody) : withBody(res);
  };
  let stopping = false;
  let inner!: Deno.HttpServer<Deno.NetAddr>;
  const innerFinished = Promise.withResolvers<void>();
  // The loopback server stops for good when an accept fails (EMFILE): start another one.
  const startInner = (): void => {
    inner = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      onError: (err) => {
        log.error("request failed", { error: String(err) });
        return new Response("internal error", { status: 500 });
      },
    }, handler);
    door?.setUpstreamPort(inner.addr.port);
    inner.finished.then(() => {
      if (stopping) innerFinished.resolve();
    }, (err) => {
      if (stopping) return innerFinished.resolve();
      log.error("internal listener failed; starting another", { error: String(err) });
      const retry = () => {
        try {
          startInner();
        } catch {
          setTimeout(retry, 500);
        }
      };
      retry();
    });
  };
  startInner();
  try {
    const direct = new RouterResponder(
      router,
      serveRequest,
      host.includes(":") ? `[${host}]` : host,
    );
    door = new FrontDoor(host, port, inner.addr.port, limits, router.metrics, direct);
  } catch (err) {
    void inner.shutdown();
    throw listenError(err, host, port);
  }
  const addr = door.addr;
  const shownHost = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const front = door;
  return {
    url: `http://${shownHost}:${addr.port}`,
    port: addr.port,
    shutdown: async (graceMs = 2000) => {
      front.stopAccepting();
      stopping = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<"expired">((resolve) => {
        timer = setTimeout(() => resolve("expired"), graceMs);
      });
      // Responses end, then the relay gets what is left of the grace to hand their last bytes
      // to clients; a client that stopped reading is dropped.
      const drained = inner.shutdown().then(() => front.drained());
      const done = await Promise.race([drained.then(() => "done" as const), expired]);
      clearTimeout(timer);
      if (done === "expired") {
        log.warn(`responses still open ${graceMs} ms after shutdown began; dropping them`, {
          connections: front.openConnections,
        });
      }
      front.closeAll();
    },
    finished: Promise.all([front.finished, innerFinished.promise]).then(() => {}),
  };
}
