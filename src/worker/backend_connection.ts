/**
 * The CMS backend's WebSocket connections (docs/protocol.md "Transport", "Lifecycle"): one backend at a
 * time; a newer connection takes over and the older one is closed with 1008. When the backend goes
 * away the worker waits a grace period for it to come back before stopping everything. With a
 * token, an upgrade without it (bearer header or `?token=`) is refused with 401 before it happens.
 */
import { FailureLimiter } from "../auth/mod.ts";
import { bearerToken, secretsEqual } from "../auth/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { LogThrottle } from "../core/mod.ts";

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY = 1008;

export interface BackendHubOptions {
  graceMs: number;
  /** Outgoing messages are dropped while this many bytes wait in the socket (slow backend). */
  maxBufferedBytes?: number;
  onOpen(conn: BackendConnection): void;
  onMessage(conn: BackendConnection, data: unknown): void;
  /** No backend came back within the grace period. */
  onGraceExpired(): void;
  /** When set, a connection must present this token. */
  token?: string;
  /** Counts connections, refusals and dropped messages. */
  metrics: Metrics;
}

const log = logger("backend");

/** The token a connection presents: `Authorization: Bearer T` or `?token=T`. */
function presentedToken(req: Request): string | undefined {
  return bearerToken(req) ?? new URL(req.url).searchParams.get("token") ?? undefined;
}

let nextId = 1;

export class BackendConnection {
  readonly id = nextId++;
  readonly since = Date.now();

  constructor(
    readonly socket: WebSocket,
    readonly remote: string,
    private readonly maxBufferedBytes: number,
    private readonly metrics: Metrics,
  ) {}

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends one JSON message; false when the socket is closed or too far behind. */
  send(message: unknown, droppable = true): boolean {
    if (!this.open) return false;
    if (droppable && this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.metrics.inc(
        "detector_worker_messages_dropped_total",
        "Outgoing messages dropped because the backend reads too slowly",
      );
      return false;
    }
    try {
      this.socket.send(JSON.stringify(message));
      return true;
    } catch (err) {
      log.debug("send failed", { connection: this.id, error: errorMessage(err) });
      return false;
    }
  }

  close(code: number, reason: string): void {
    try {
      if (this.socket.readyState <= WebSocket.OPEN) this.socket.close(code, reason);
    } catch {
      // already closing
    }
  }
}

export class BackendHub {
  #current: BackendConnection | undefined;
  #all = new Set<BackendConnection>();
  #grace: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  readonly #maxBuffered: number;
  readonly #failures = new FailureLimiter();
  #throttle = new LogThrottle({ burst: 10 });

  constructor(private readonly opts: BackendHubOptions) {
    this.#maxBuffered = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  get current(): BackendConnection | undefined {
    return this.#current;
  }

  get inGrace(): boolean {
    return this.#grace !== undefined;
  }

  /** Answers a WebSocket upgrade request at `/`. */
  upgrade(req: Request, remote: string, address = remote): Response {
    if (this.#stopped) return new Response("shutting down", { status: 503 });
    const refusal = this.#checkToken(req, remote, address);
    if (refusal) return refusal;
    const { socket, response } = Deno.upgradeWebSocket(req);
    const conn = new BackendConnection(socket, remote, this.#maxBuffered, this.opts.metrics);
    this.#all.add(conn);
    socket.onopen = () => this.#activate(conn);
    socket.onmessage = (e) => {
      if (this.#current !== conn) return; // replaced: ignore what it still sends
      this.opts.onMessage(conn, e.data);
    };
    socket.onerror = (e) => {
      log.debug("socket error", {
        connection: conn.id,
        error: e instanceof ErrorEvent ? e.message : "error",
      });
    };
    socket.onclose = (e) => this.#closed(conn, e.code, e.reason);
    return response;
  }

  #checkToken(req: Request, remote: string, address: string): Response | undefined {
    const token = this.opts.token;
    if (token === undefined) return undefined;
    const unauthorized = (message: string) =>
      Response.json({ error: message }, {
        status: 401,
        headers: { "www-authenticate": 'Bearer realm="detector run"' },
      });
    const waitMs = this.#failures.blockedFor(address);
    if (waitMs > 0) {
      this.#refused("rate_limited");
      return Response.json({ error: "too many wrong tokens from this address" }, {
        status: 429,
        headers: { "retry-after": String(Math.ceil(waitMs / 1000)) },
      });
    }
    const given = presentedToken(req);
    if (given === undefined) {
      this.#refused("missing");
      this.#throttle.warn(
        log,
        `missing ${address}`,
        "refused a backend connection without a token",
        {
          remote,
        },
      );
      return unauthorized("backend token required: Authorization: Bearer TOKEN or ?token=TOKEN");
    }
    if (!secretsEqual(given, token)) {
      this.#failures.fail(address);
      this.#refused("invalid");
      this.#throttle.warn(
        log,
        `invalid ${address}`,
        "refused a backend connection with a wrong token",
        {
          remote,
        },
      );
      return unauthorized("wrong backend token");
    }
    this.#failures.succeed(address);
    return undefined;
  }

  #refused(reason: "missing" | "invalid" | "rate_limited"): void {
    this.opts.metrics.inc(
      "detector_worker_backend_refused_total",
      "Backend connections refused before the upgrade for a missing or wrong token",
      { reason },
    );
  }

  /** Sends to the current backend; false when there is none (the message is dropped). */
  send(message: unknown, droppable = true): boolean {
    const conn = this.#current;
    if (!conn) {
      this.opts.metrics.inc(
        "detector_worker_messages_unsent_total",
        "Messages not sent because no backend was connected",
      );
      return false;
    }
    return conn.send(message, droppable);
  }

  /** Shutdown: closes every connection with 1001 and stops accepting. */
  closeAll(reason = "worker shutting down"): void {
    this.#stopped = true;
    clearTimeout(this.#grace);
    this.#grace = undefined;
    for (const c of this.#all) c.close(CLOSE_GOING_AWAY, reason);
    this.#current = undefined;
  }

  #activate(conn: BackendConnection): void {
    if (this.#stopped) {
      conn.close(CLOSE_GOING_AWAY, "worker shutting down");
      return;
    }
    const old = this.#current;
    this.#current = conn;
    if (this.#grace !== undefined) {
      clearTimeout(this.#grace);
      this.#grace = undefined;
      log.info("backend back within the grace period", { connection: conn.id });
    }
    this.opts.metrics.inc(
      "detector_worker_backend_connections_total",
      "Backend connections accepted",
    );
    log.info("backend connected", { connection: conn.id, remote: conn.remote });
    if (old) {
      log.warn("a newer backend connection takes over; closing the older one", {
        older: old.id,
        newer: conn.id,
      });
      this.opts.metrics.inc(
        "detector_worker_backend_takeovers_total",
        "Backend connections replaced",
      );
      old.close(CLOSE_POLICY, "replaced by a newer backend connection");
    }
    this.opts.onOpen(conn);
  }

  #closed(conn: BackendConnection, code: number, reason: string): void {
    this.#all.delete(conn);
    if (this.#current !== conn) return;
    this.#current = undefined;
    if (this.#stopped) return;
    log.warn("backend disconnected; keeping subscriptions for the grace period", {
      connection: conn.id,
      code,
      reason: reason || undefined,
      graceMs: this.opts.graceMs,
    });
    clearTimeout(this.#grace);
    this.#grace = setTimeout(() => {
      this.#grace = undefined;
      if (this.#current) return;
      log.warn("no backend within the grace period; stopping every subscription");
      this.opts.onGraceExpired();
    }, this.opts.graceMs);
  }
}
