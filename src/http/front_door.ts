import { Backoff, errorMessage, logger, sleep } from "../core/mod.ts";
import type { Metrics } from "../core/mod.ts";
import { parseRequestHead, type RequestHead } from "./request_head.ts";
import { writeAll } from "./response_writer.ts";

/**
 * The public listener. Deno.serve has no header, idle or body timeouts, no connection cap and
 * stops for good on the first failed accept (EMFILE), so the program accepts connections itself
 * and relays each one to a loopback Deno.serve that only answers relayed connections. Relaying
 * copies every byte once more and crosses the kernel twice, so the hot frame routes (snapshots,
 * MJPEG streams) are answered on the client connection itself (`DirectResponder`).
 */
export interface ConnectionLimits {
  /** A request head must arrive within this time after the connection opens or its first byte. */
  headerTimeoutMs: number;
  /**
   * A connection with no request in progress and no traffic for this long is closed, and so is one
   * whose client takes none of its response for this long.
   */
  idleTimeoutMs: number;
  /** While a handler has not answered yet, the client must keep sending at least this often. */
  bodyTimeoutMs: number;
  /** Open connections beyond this are answered 503 and closed. */
  maxConnections: number;
}

export const defaultConnectionLimits: ConnectionLimits = {
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  maxConnections: 512,
};

/** What the door knows about one client connection; the handler marks requests on it. */
export class ClientConnection {
  readonly remoteAddr: Deno.NetAddr;
  readonly openedAt = Date.now();
  /** When the head being read began (the connection's opening for the first request). */
  headSince = this.openedAt;
  lastActivity = Date.now();
  /** While a write to the client waits for it to take bytes: since when (else 0). */
  writingSince = 0;
  headDone = false;
  inFlight = 0;
  /** Requests whose handler has not returned a response yet (still reading the body). */
  awaiting = 0;
  upgraded = false;
  /** Answered by the door itself and waiting for its next request. */
  betweenRequests = false;
  #close: () => void;

  constructor(remoteAddr: Deno.NetAddr, close: () => void) {
    this.remoteAddr = remoteAddr;
    this.#close = close;
  }

  close(): void {
    this.#close();
  }
}

/**
 * Requests the door answers on the client connection itself instead of relaying them (the hot
 * frame routes: no relay copy, no loopback hop).
 */
export interface DirectResponder {
  /** The request to answer directly, or undefined to relay it. */
  accept(head: RequestHead): Request | undefined;
  /** Answers it; resolves true when the connection can carry another request. */
  serve(
    req: Request,
    head: RequestHead,
    conn: Deno.TcpConn,
    client: ClientConnection,
  ): Promise<boolean>;
}

const log = logger("http");
const MAX_HEAD = 32 * 1024;
const CHUNK = 16 * 1024;
const HEAD_END = new Uint8Array([13, 10, 13, 10]);
const encoder = new TextEncoder();

function isFdExhaustion(err: unknown): boolean {
  const msg = errorMessage(err);
  return /os error 2[34]\b|too many open files|EMFILE|ENFILE/i.test(msg);
}

function indexOfHeadEnd(buf: Uint8Array, from: number): number {
  outer: for (let i = Math.max(0, from - 3); i + 4 <= buf.length; i++) {
    for (let j = 0; j < 4; j++) if (buf[i + j] !== HEAD_END[j]) continue outer;
    return i + 4;
  }
  return -1;
}

function plainResponse(status: number, reason: string, body: string): Uint8Array {
  return encoder.encode(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${body.length + 1}\r\nconnection: close\r\n\r\n${body}\n`,
  );
}

/** Reads the system's open-file limit (Linux); the connection cap must stay below it. */
export function openFileLimit(): number | undefined {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const m = text.match(/^Max open files\s+(\d+|unlimited)/m);
    if (m && m[1] !== "unlimited") return Number(m[1]);
  } catch {
    // not Linux, or /proc hidden: keep the configured cap
  }
  return undefined;
}

/** Each relayed client holds three descriptors (client, relay end, server end). */
export function effectiveMaxConnections(configured: number): number {
  const limit = openFileLimit();
  if (limit === undefined) return configured;
  return Math.max(8, Math.min(configured, Math.floor((limit - 64) / 3)));
}

export class FrontDoor {
  readonly addr: Deno.NetAddr;
  #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  #upstreamPort: number;
  #limits: ConnectionLimits;
  #maxConnections: number;
  #open = new Set<ClientConnection>();
  /** Relay-side local port of the loopback connection → the client it carries. */
  #byRelayPort = new Map<number, ClientConnection>();
  #closed = false;
  #sweeper: ReturnType<typeof setInterval>;
  #exhausted = false;
  readonly finished: Promise<void>;

  constructor(
    host: string,
    port: number,
    upstreamPort: number,
    limits: ConnectionLimits,
    private readonly metrics: Metrics,
    private readonly direct?: DirectResponder,
  ) {
    this.#listener = Deno.listen({ hostname: host, port, transport: "tcp" });
    this.addr = this.#listener.addr;
    this.#upstreamPort = upstreamPort;
    this.#limits = limits;
    this.#maxConnections = effectiveMaxConnections(limits.maxConnections);
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1000, limits.headerTimeoutMs / 2));
    metrics.collect(() => [{
      name: "detector_http_connections_open",
      type: "gauge",
      help: "Client connections open on the HTTP port",
      value: this.#open.size,
    }, {
      name: "detector_http_connections_limit",
      type: "gauge",
      help: "Open client connections allowed before new ones are answered 503",
      value: this.#maxConnections,
    }]);
    this.finished = this.#acceptLoop();
  }

  /** The client whose request arrived on this relay connection, if it came through the door. */
  clientFor(relayPort: number): ClientConnection | undefined {
    return this.#byRelayPort.get(relayPort);
  }

  setUpstreamPort(port: number): void {
    this.#upstreamPort = port;
  }

  /** Resolves once no client connection is open (checked every 50 ms). */
  async drained(): Promise<void> {
    while (this.#open.size > 0) await new Promise((r) => setTimeout(r, 50));
  }

  get openConnections(): number {
    return this.#open.size;
  }

  /** Stops accepting; connections waiting for their next request after a direct answer close. */
  stopAccepting(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    for (const c of [...this.#open]) if (c.betweenRequests) c.close();
  }

  /** Closes every client connection still open. */
  closeAll(): void {
    this.stopAccepting();
    clearInterval(this.#sweeper);
    for (const c of [...this.#open]) c.close();
  }

  async #acceptLoop(): Promise<void> {
    const backoff = new Backoff({ initialMs: 50, maxMs: 1000 });
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#closed) break;
        if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) break;
        if (isFdExhaustion(err)) this.#onExhausted(err);
        else log.warn("accept failed", { error: errorMessage(err) });
        await sleep(backoff.next());
        continue;
      }
      backoff.reset();
      if (this.#exhausted) {
        this.#exhausted = false;
        log.info("accepting connections again", { open: this.#open.size });
      }
      if (this.#open.size >= this.#maxConnections) {
        void this.#refuse(conn, "limit");
        continue;
      }
      void this.#serve(conn);
    }
  }

  #onExhausted(err: unknown): void {
    this.metrics.inc(
      "detector_http_accept_errors_total",
      "Failed accepts because the process or system ran out of file descriptors",
    );
    if (!this.#exhausted) {
      this.#exhausted = true;
      log.error("out of file descriptors; closing idle connections and retrying", {
        error: errorMessage(err),
        open: this.#open.size,
      });
    }
    // Shed load: idle connections first, then the oldest ones still sending their head.
    const idle = [...this.#open].filter((c) => c.inFlight === 0 && !c.upgraded);
    idle.sort((a, b) => a.lastActivity - b.lastActivity);
    for (const c of idle.slice(0, Math.max(1, Math.ceil(idle.length / 4)))) {
      this.#timedOut(c, "shed");
    }
  }

  async #refuse(conn: Deno.TcpConn, reason: string): Promise<void> {
    this.metrics.inc(
      "detector_http_connections_refused_total",
      "Connections answered 503 because too many were open",
      { reason },
    );
    const timer = setTimeout(() => conn.close(), 1000);
    try {
      await writeAll(conn, plainResponse(503, "Service Unavailable", "too many open connections"));
    } catch {
      // the client left
    }
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }

  #timedOut(c: ClientConnection, phase: string): void {
    this.metrics.inc(
      "detector_http_connections_timed_out_total",
      "Connections closed for sending too slowly or staying idle",
      { phase },
    );
    c.close();
  }

  #sweep(): void {
    const now = Date.now();
    const l = this.#limits;
    for (const c of this.#open) {
      if (c.upgraded) continue;
      if (c.writingSince > 0 && now - c.writingSince > l.idleTimeoutMs) {
        this.#timedOut(c, "write");
      } else if (!c.headDone) {
        if (now - c.headSince > l.headerTimeoutMs) this.#timedOut(c, "header");
      } else if (c.awaiting > 0) {
        if (now - c.lastActivity > l.bodyTimeoutMs) this.#timedOut(c, "body");
      } else if (c.inFlight === 0 && now - c.lastActivity > l.idleTimeoutMs) {
        this.#timedOut(c, "idle");
      }
    }
  }

  /**
   * Reads request heads and answers the direct ones on the connection; the first other request
   * turns the connection into a relay to the loopback server for the rest of its life.
   */
  async #serve(conn: Deno.TcpConn): Promise<void> {
    let upstream: Deno.TcpConn | undefined;
    let closed = false;
    const client = new ClientConnection(conn.remoteAddr, () => {
      if (closed) return;
      closed = true;
      for (const c of [conn, upstream]) {
        try {
          c?.close();
        } catch {
          // already closed
        }
      }
    });
    this.#open.add(client);
    let relayPort: number | undefined;
    try {
      conn.setNoDelay(true);
      const buffered = { buf: new Uint8Array(4096), len: 0 };
      let head: Uint8Array | undefined;
      while (true) {
        head = await this.#readHead(conn, client, buffered);
        if (!head) return;
        client.headDone = true;
        client.betweenRequests = false;
        client.lastActivity = Date.now();
        const parsed = this.direct && parseRequestHead(head);
        const req = parsed && this.direct!.accept(parsed);
        if (!req) break;
        const again = await this.direct!.serve(req, parsed!, conn, client);
        if (!again || this.#closed || closed) return;
        client.betweenRequests = true;
      }
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port: this.#upstreamPort });
      } catch (err) {
        if (isFdExhaustion(err)) this.#onExhausted(err);
        await writeAll(conn, plainResponse(503, "Service Unavailable", "server busy")).catch(
          () => {},
        );
        return;
      }
      if (closed) return;
      relayPort = upstream.localAddr.port;
      this.#byRelayPort.set(relayPort, client);
      upstream.setNoDelay(true);
      await writeAll(upstream, head);
      if (buffered.len > 0) await writeAll(upstream, buffered.buf.subarray(0, buffered.len));
      // The server ending its side ends the connection; a client may half-close after its request.
      await Promise.race([
        this.#pump(upstream, conn, client, client),
        this.#pump(conn, upstream, client).then(() => new Promise(() => {})),
      ]);
    } catch {
      // either side went away
    } finally {
      client.close();
      this.#open.delete(client);
      if (relayPort !== undefined) this.#byRelayPort.delete(relayPort);
    }
  }

  /**
   * Reads until the end of a request head, after the bytes already in `buffered`, which keeps what
   * follows the head; undefined if the client left or sent too much. The head's clock starts with
   * its first byte.
   */
  async #readHead(
    conn: Deno.TcpConn,
    client: ClientConnection,
    buffered: { buf: Uint8Array; len: number },
  ): Promise<Uint8Array | undefined> {
    const started = () => {
      if (!client.headDone) return;
      client.headDone = false;
      client.headSince = Date.now();
    };
    let from = 0;
    while (true) {
      if (buffered.len > 0) {
        started();
        const end = indexOfHeadEnd(buffered.buf.subarray(0, buffered.len), from);
        if (end >= 0) {
          const head = buffered.buf.slice(0, end);
          buffered.buf.copyWithin(0, end, buffered.len);
          buffered.len -= end;
          return head;
        }
      }
      if (buffered.len === buffered.buf.length) {
        if (buffered.buf.length >= MAX_HEAD) {
          await writeAll(
            conn,
            plainResponse(431, "Request Header Fields Too Large", "request head too large"),
          ).catch(() => {});
          return undefined;
        }
        const bigger = new Uint8Array(buffered.buf.length * 2);
        bigger.set(buffered.buf);
        buffered.buf = bigger;
      }
      const n = await conn.read(buffered.buf.subarray(buffered.len));
      if (n === null) return undefined;
      client.lastActivity = Date.now();
      from = buffered.len;
      buffered.len += n;
    }
  }

  async #pump(
    from: Deno.TcpConn,
    to: Deno.TcpConn,
    client: ClientConnection,
    watch?: ClientConnection,
  ): Promise<void> {
    const buf = new Uint8Array(CHUNK);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        client.lastActivity = Date.now();
        await writeAll(to, buf.subarray(0, n), watch);
      }
      await to.closeWrite().catch(() => {});
    } catch {
      client.close();
    }
  }
}
