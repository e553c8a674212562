/**
 * Drives Debian's headless Chromium (`/usr/bin/chromium`, no browser downloads) over the DevTools
 * protocol, spoken on Deno's built-in WebSocket. Always `close()` the browser in a finally block.
 */
import { type Child, spawnChild } from "./process.ts";

export const CHROMIUM = Deno.env.get("CHROMIUM_BIN") ?? "/usr/bin/chromium";

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  method: string;
}

type EventHandler = (params: Record<string, unknown>, sessionId?: string) => void;

/** One DevTools WebSocket connection; commands may target a page session (flattened mode). */
class CdpConnection {
  #ws: WebSocket;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #listeners = new Map<string, Set<EventHandler>>();
  #closed = false;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (e) => this.#onMessage(String(e.data));
    ws.onclose = () => {
      this.#closed = true;
      for (const p of this.#pending.values()) {
        p.reject(new Error(`DevTools connection closed during ${p.method}`));
      }
      this.#pending.clear();
    };
  }

  static open(url: string): Promise<CdpConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new CdpConnection(ws));
      ws.onerror = (e) =>
        reject(new Error(`cannot connect to ${url}: ${(e as ErrorEvent).message}`));
    });
  }

  #onMessage(text: string): void {
    const msg = JSON.parse(text);
    if (typeof msg.id === "number") {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) {
        p.reject(new Error(`${p.method}: ${msg.error.message} ${msg.error.data ?? ""}`));
      } else p.resolve(msg.result ?? {});
      return;
    }
    for (const h of this.#listeners.get(msg.method) ?? []) h(msg.params ?? {}, msg.sessionId);
  }

  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new Error(`DevTools connection closed (${method})`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        method,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  on(method: string, handler: EventHandler): () => void {
    let set = this.#listeners.get(method);
    if (!set) this.#listeners.set(method, set = new Set());
    set.add(handler);
    return () => set.delete(handler);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#ws.close();
    } catch {
      // already closing
    }
  }
}

/** A browser tab. */
export class Page {
  constructor(private readonly cdp: CdpConnection, readonly sessionId: string) {}

  /** Loads `url` and resolves once the page's load event fired. */
  async navigate(url: string, timeoutMs = 30_000): Promise<void> {
    const loaded = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${url} did not finish loading in ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.cdp.on("Page.loadEventFired", (_p, sessionId) => {
        if (sessionId !== this.sessionId) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
    const r = await this.cdp.send("Page.navigate", { url }, this.sessionId);
    if (r.errorText) throw new Error(`navigating to ${url}: ${r.errorText}`);
    await loaded;
  }

  /** Evaluates an expression in the page (promises are awaited) and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.cdp.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }, this.sessionId);
    const details = r.exceptionDetails as
      | { text: string; exception?: { description?: string } }
      | undefined;
    if (details) {
      throw new Error(`page threw: ${details.exception?.description ?? details.text}`);
    }
    return (r.result as { value: T }).value;
  }

  /**
   * Answers every HTTP authentication challenge of this tab with these credentials, as a person
   * typing them into the browser's login prompt would.
   */
  async useCredentials(username: string, password: string): Promise<void> {
    const mine = (sessionId?: string) => sessionId === this.sessionId;
    this.cdp.on("Fetch.requestPaused", (p, sessionId) => {
      if (!mine(sessionId)) return;
      this.cdp.send("Fetch.continueRequest", { requestId: p.requestId }, this.sessionId)
        .catch(() => {});
    });
    this.cdp.on("Fetch.authRequired", (p, sessionId) => {
      if (!mine(sessionId)) return;
      this.cdp.send("Fetch.continueWithAuth", {
        requestId: p.requestId,
        authChallengeResponse: { response: "ProvideCredentials", username, password },
      }, this.sessionId).catch(() => {});
    });
    await this.cdp.send("Fetch.enable", { handleAuthRequests: true }, this.sessionId);
  }

  /** A PNG of the visible viewport. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.cdp.send("Page.captureScreenshot", { format: "png" }, this.sessionId);
    return Uint8Array.from(atob(r.data as string), (c) => c.charCodeAt(0));
  }
}

export interface Browser {
  child: Child;
  newPage(width?: number, height?: number): Promise<Page>;
  /** Closes the browser, kills the process if it lingers and removes its profile folder. */
  close(): Promise<void>;
}

/** Starts headless Chromium on a free DevTools port with a throw-away profile. */
export async function launchChromium(): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "detector_chromium_" });
  const child = spawnChild(CHROMIUM, [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    `--user-data-dir=${profile}`,
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "about:blank",
  ]);
  let cdp: CdpConnection | undefined;
  const close = async () => {
    if (cdp) {
      await cdp.send("Browser.close", {}, undefined, 5000).catch(() => {});
      cdp.close();
    }
    await child.stop(3000);
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  };
  try {
    const m = await child.waitFor(/DevTools listening on (ws:\/\/\S+)/, 30_000);
    cdp = await CdpConnection.open(m[1]);
  } catch (err) {
    await close();
    throw err;
  }
  const conn = cdp;
  return {
    child,
    async newPage(width = 1280, height = 800) {
      const { targetId } = await conn.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await conn.send("Target.attachToTarget", { targetId, flatten: true });
      const page = new Page(conn, sessionId as string);
      await conn.send("Page.enable", {}, page.sessionId);
      await conn.send("Runtime.enable", {}, page.sessionId);
      await conn.send("Emulation.setDeviceMetricsOverride", {
        width,
        height,
        deviceScaleFactor: 1,
        mobile: false,
      }, page.sessionId);
      return page;
    },
    close,
  };
}
