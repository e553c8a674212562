import { checkJpeg } from "../core/mod.ts";
import { errorMessage, logger } from "../core/mod.ts";
import { jsonError } from "../http/mod.ts";
import {
  CLOSE_POLICY,
  CLOSE_UNSUPPORTED,
  PushProtocolError,
  PushStreamParser,
} from "./push_handshake.ts";
import { verifyPushToken } from "./push_token.ts";
import type { PushSink } from "./push_sink.ts";
import { LogThrottle } from "../core/mod.ts";
import { PushRateGuard } from "./push_rate_guard.ts";
import { type BodyBudget, BodyBudgetError } from "./body_budget.ts";

export interface PushServerOptions {
  /** Server secret of the camera tokens; without it push is disabled. */
  secret?: string;
  sink: PushSink;
  handshakeTimeoutMs?: number;
  maxConnections?: number;
  /** Messages per second taken from all connections together; 0 = no cap. */
  maxMessagesPerSecond?: number;
  /**
   * Memory for bodies being received, shared with uploads: a message counts from its arrival until
   * its frames are in the cache, and bytes of an unfinished frame count while they are held.
   */
  budget: BodyBudget;
}

/** Default cap of WebSocket messages per second over all push connections. */
export const PUSH_MAX_MESSAGES_PER_SECOND = 20_000;

const log = logger("push");
const encoder = new TextEncoder();

/** Close reasons are limited to 123 bytes by RFC 6455. */
function closeReason(text: string): string {
  let out = text;
  while (encoder.encode(out).byteLength > 123) out = out.slice(0, -2);
  return out;
}

/** `/push`: cameras open a WebSocket, prove their id with a token, then send JPEG frames. */
export class PushServer {
  readonly enabled: boolean;
  #secret: string | undefined;
  #sink: PushSink;
  #handshakeTimeoutMs: number;
  #maxConnections: number;
  #sockets = new Set<WebSocket>();
  #open = 0;
  #throttle = new LogThrottle({ windowMs: 5000 });
  #rate: PushRateGuard;
  #budget: BodyBudget;

  constructor(opts: PushServerOptions) {
    this.#secret = opts.secret;
    this.enabled = !!opts.secret;
    this.#sink = opts.sink;
    this.#handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 10_000;
    this.#maxConnections = opts.maxConnections ?? 1024;
    this.#rate = new PushRateGuard(opts.maxMessagesPerSecond ?? PUSH_MAX_MESSAGES_PER_SECOND);
    this.#budget = opts.budget;
    opts.sink.metrics.collect(() => [{
      name: "detector_push_ws_connections",
      type: "gauge",
      help: "Open WebSocket push connections",
      value: this.#open,
    }]);
  }

  handle(req: Request, info: Deno.ServeHandlerInfo): Response {
    if (!this.#secret) {
      this.#sink.countRejected("ws", "disabled");
      return jsonError(
        503,
        "WebSocket push is disabled: start serve with --push-secret or DETECTOR_PUSH_SECRET",
      );
    }
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return jsonError(
        426,
        "/push is a WebSocket endpoint: send [camera id u32 LE][token length u32 LE][token] " +
          "then [frame length u32 LE][JPEG] or one JPEG per binary message",
        {},
        { upgrade: "websocket" },
      );
    }
    if (this.#sockets.size >= this.#maxConnections) {
      this.#sink.countRejected("ws", "too_many_connections");
      return jsonError(503, `too many push connections (limit ${this.#maxConnections})`);
    }
    // info cannot be read once the request is upgraded
    const addr = info.remoteAddr as Deno.NetAddr;
    const remote = addr.hostname ? `${addr.hostname}:${addr.port}` : "unknown";
    const { socket, response } = Deno.upgradeWebSocket(req);
    this.#attach(socket, remote, addr.hostname ?? "unknown");
    return response;
  }

  /** Closes every push connection (shutdown). */
  closeAll(): void {
    for (const s of this.#sockets) {
      try {
        s.close(1001, "server shutting down");
      } catch {
        // already closing
      }
    }
  }

  #attach(socket: WebSocket, remote: string, address: string): void {
    socket.binaryType = "arraybuffer";
    const parser = new PushStreamParser(this.#sink.maxFrameBytes);
    let camera: string | undefined;
    let closed = false;
    let frames = 0;
    const rate = this.#rate.open();
    /** Bytes of this connection counted in the body budget. */
    let held = 0;
    const release = () => {
      this.#budget.give(address, held);
      held = 0;
    };
    const refuse = (reason: string, code: number, message: string) => {
      if (closed) return;
      closed = true;
      release();
      this.#sink.countRejected("ws", reason);
      const suppressed = this.#throttle.pass(`ws:${reason}:${remote}`);
      if (suppressed !== undefined) {
        log.warn("push connection refused", {
          remote,
          camera,
          code,
          reason: message,
          suppressed: suppressed || undefined,
        });
      }
      try {
        socket.close(code, closeReason(message));
      } catch {
        // the peer is already gone
      }
    };
    const timer = setTimeout(() => {
      if (!parser.handshakeDone) {
        refuse(
          "handshake_timeout",
          CLOSE_POLICY,
          `no complete handshake within ${this.#handshakeTimeoutMs} ms`,
        );
      }
    }, this.#handshakeTimeoutMs);

    socket.onopen = () => {
      this.#open++;
      this.#sockets.add(socket);
    };
    socket.onmessage = (e: MessageEvent) => {
      if (closed) return;
      const tooFast = this.#rate.admit(rate);
      if (tooFast) return refuse("rate_limit", CLOSE_POLICY, tooFast);
      let bytes: Uint8Array;
      if (typeof e.data === "string") {
        if (parser.handshakeDone) {
          return refuse(
            "text_message",
            CLOSE_UNSUPPORTED,
            "text messages are not frames; send JPEG bytes as binary messages",
          );
        }
        bytes = encoder.encode(e.data);
      } else {
        bytes = new Uint8Array(e.data as ArrayBuffer);
      }
      try {
        this.#budget.take(address, bytes.byteLength);
      } catch (err) {
        if (!(err instanceof BodyBudgetError)) throw err;
        return refuse(err.scope === "global" ? "busy" : "address_busy", CLOSE_POLICY, err.message);
      }
      held += bytes.byteLength;
      let events;
      try {
        events = parser.push(bytes);
      } catch (err) {
        if (err instanceof PushProtocolError) return refuse(err.reason, err.code, err.message);
        return refuse("internal", 1011, `internal error: ${errorMessage(err)}`);
      }
      for (const ev of events) {
        if (ev.kind === "hello") {
          const name = String(ev.cameraId);
          if (!verifyPushToken(this.#secret!, ev.cameraId, ev.token)) {
            return refuse("bad_token", CLOSE_POLICY, `wrong token for camera ${name}`);
          }
          const refusal = this.#sink.refusal(name);
          if (refusal) return refuse(refusal.reason, CLOSE_POLICY, refusal.message);
          camera = name;
          clearTimeout(timer);
          log.info("push camera connected", { camera, remote });
          continue;
        }
        const check = checkJpeg(ev.jpeg);
        if (!check.ok) {
          return refuse(
            "not_jpeg",
            CLOSE_UNSUPPORTED,
            `frame ${frames + 1} (${ev.framing}) is not a complete JPEG: ${check.reason}`,
          );
        }
        frames++;
        this.#sink.put(camera!, ev.jpeg, "ws", check.info);
      }
      // Delivered frames are the cache's now; bytes the parser still holds keep counting.
      this.#budget.give(address, held - parser.buffered);
      held = parser.buffered;
    };
    socket.onclose = (e: CloseEvent) => {
      clearTimeout(timer);
      release();
      this.#rate.close();
      if (this.#sockets.delete(socket)) this.#open--;
      if (closed) return;
      closed = true;
      if (parser.midway) {
        const what = parser.handshakeDone ? "truncated_frame" : "truncated_handshake";
        this.#sink.countRejected("ws", what);
        log.warn("push connection closed in the middle of a message; partial bytes dropped", {
          remote,
          camera,
          reason: what,
          bufferedBytes: parser.buffered,
          code: e.code,
        });
      } else {
        log.info("push connection closed", { remote, camera, frames, code: e.code });
      }
    };
    socket.onerror = () => {
      // onclose follows and does the bookkeeping
    };
  }
}
