/**
 * A scripted CMS backend: a real WebSocket client of `detector run` that records every message
 * the worker sends (with its arrival time) and lets a test wait for the ones it expects.
 */

// deno-lint-ignore no-explicit-any
export type Message = Record<string, any>;

export interface Received {
  at: number;
  msg: Message;
}

export interface BackendClient {
  readonly socket: WebSocket;
  /** Everything received so far, in order. */
  readonly received: Received[];
  send(msg: unknown): void;
  sendRaw(data: string | Uint8Array): void;
  /** Messages of one type received at index `from` or later. */
  ofType(type: string, from?: number): Message[];
  /** Resolves with the first message (at index `from` or later) that matches. */
  waitFor(match: (m: Message) => boolean, what: string, timeoutMs?: number, from?: number): Promise<
    Message
  >;
  /** Resolves once `count` matching messages arrived at index `from` or later. */
  waitForCount(
    match: (m: Message) => boolean,
    count: number,
    what: string,
    timeoutMs?: number,
    from?: number,
  ): Promise<Message[]>;
  /** Resolves with the close code and reason when the worker closes the connection. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(code?: number, reason?: string): Promise<void>;
}

/**
 * Connects to the worker whose HTTP base URL is `url` (`http://host:port`, or with a path and
 * query such as `/?token=T`); `headers` go with the upgrade request (e.g. a bearer token).
 */
export async function connectBackend(
  url: string,
  timeoutMs = 10_000,
  headers?: Record<string, string>,
): Promise<BackendClient> {
  const wsUrl = url.replace(/^http/, "ws");
  const socket = new WebSocket(
    new URL(wsUrl).pathname === "/" && !wsUrl.includes("?") ? wsUrl.replace(/\/?$/, "/") : wsUrl,
    // @ts-ignore: Deno's WebSocket takes headers for the upgrade request
    headers ? { headers } : undefined,
  );
  const received: Received[] = [];
  const watchers = new Set<() => void>();
  let closeInfo: { code: number; reason: string } | undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.addEventListener("close", (e) => {
      closeInfo = { code: e.code, reason: e.reason };
      resolve(closeInfo);
      for (const w of watchers) w();
    });
  });
  socket.addEventListener("message", (e) => {
    let msg: Message;
    try {
      msg = JSON.parse(String(e.data));
    } catch {
      msg = { type: "__not_json__", raw: String(e.data) };
    }
    received.push({ at: performance.now(), msg });
    for (const w of watchers) w();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no WebSocket connection to ${url}`)),
      timeoutMs,
    );
    socket.addEventListener("open", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
    socket.addEventListener("error", () => {
      clearTimeout(timer);
      reject(new Error(`WebSocket connection to ${url} failed`));
    }, { once: true });
  });

  const matching = (match: (m: Message) => boolean, from: number) =>
    received.slice(from).map((r) => r.msg).filter(match);

  const waitForCount: BackendClient["waitForCount"] = (
    match,
    count,
    what,
    timeoutMs = 15_000,
    from = 0,
  ) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = matching(match, from);
        if (found.length >= count) {
          done();
          resolve(found.slice(0, count));
        } else if (closeInfo) {
          done();
          reject(
            new Error(
              `connection closed (${closeInfo.code} ${closeInfo.reason}) while waiting for ${what}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        const types = received.slice(from).map((r) => r.msg.type);
        const summary = [...new Set(types)].map((t) =>
          `${t}×${types.filter((x) => x === t).length}`
        );
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} (got ${
              matching(match, from).length
            }/${count}; received: ${summary.join(", ") || "nothing"}; last: ${
              JSON.stringify(received.at(-1)?.msg ?? null).slice(0, 300)
            })`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        watchers.delete(check);
      };
      watchers.add(check);
      check();
    });

  return {
    socket,
    received,
    send: (msg) => socket.send(JSON.stringify(msg)),
    sendRaw: (data) => socket.send(data),
    ofType: (type, from = 0) => matching((m) => m.type === type, from),
    waitFor: async (match, what, timeoutMs, from) =>
      (await waitForCount(match, 1, what, timeoutMs, from))[0],
    waitForCount,
    closed,
    async close(code = 1000, reason = "test done") {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close(code, reason);
      }
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}
