import { errorMessage } from "../core/mod.ts";
import { redactText, redactUrl } from "../core/mod.ts";
import { VERSION } from "../version.ts";

export const DEFAULT_SERVER = "https://connect.prusa3d.com";

/**
 * Why a request failed. `auth`: credentials refused (401, 403, invalid fingerprint);
 * `rejected`: another 3xx/4xx; `server`: 5xx or 429; `network`/`timeout`: no HTTP answer.
 */
export type ConnectFailure = "auth" | "rejected" | "server" | "network" | "timeout";

export class ConnectError extends Error {
  constructor(
    readonly kind: ConnectFailure,
    message: string,
    readonly status?: number,
    /** What the user should do about it. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = "ConnectError";
  }
}

/** What `PUT /c/info` tells Connect about the camera. */
export interface CameraInfo {
  name: string;
  width: number;
  height: number;
  model?: string;
  manufacturer?: string;
  firmware?: string;
}

export interface ConnectClientOptions {
  server: string;
  token: string;
  fingerprint: string;
  /** Whole-request timeout (connect, send, answer). */
  timeoutMs: number;
}

const HINT_401 = "Prusa Connect does not accept this token: in Connect open the printer, " +
  "Camera tab, 'Add new other camera', copy the new token into the token file or " +
  "PRUSA_CONNECT_TOKEN, and keep its fingerprint (a new token may use a new fingerprint)";
const HINT_403 = "the token is known but may not upload snapshots: the camera must be of type " +
  "'other' in Connect (added with 'Add new other camera'), and the fingerprint must be the one " +
  "first used with this token (see --state-dir); otherwise create a new camera token";
const HINT_FINGERPRINT = "Connect binds a token to the first fingerprint used with it: " +
  "pass that fingerprint (--fingerprint-file), or create a new camera token in Connect";

/** The JSON body of `PUT /c/info`, shaped like Prusa's own camera clients send it. */
export function infoBody(info: CameraInfo): Record<string, unknown> {
  return {
    config: {
      name: info.name,
      path: "detector",
      driver: "detector",
      resolution: { width: info.width, height: info.height },
      model: info.model ?? "detector",
      manufacturer: info.manufacturer ?? "detector",
      firmware: info.firmware ?? VERSION,
    },
    options: { available_resolutions: [{ width: info.width, height: info.height }] },
    capabilities: ["resolution"],
  };
}

/** Client of the Prusa Connect camera API (`/c/snapshot`, `/c/info`). Never reveals the token. */
export class ConnectClient {
  readonly server: string;
  readonly #token: string;
  readonly #fingerprint: string;
  readonly timeoutMs: number;

  constructor(opts: ConnectClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.server);
    } catch {
      throw new Error(`--server "${redactUrl(opts.server)}" is not a URL`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new Error(`--server must be http(s)://, got "${redactUrl(opts.server)}"`);
    }
    this.server = url.href.replace(/\/+$/, "");
    this.#token = opts.token;
    this.#fingerprint = opts.fingerprint;
    this.timeoutMs = opts.timeoutMs;
  }

  /** Uploads one JPEG; resolves with the HTTP status on 2xx, throws ConnectError otherwise. */
  putSnapshot(jpeg: Uint8Array, signal?: AbortSignal): Promise<number> {
    return this.#put("/c/snapshot", jpeg, "image/jpg", signal);
  }

  putInfo(info: CameraInfo, signal?: AbortSignal): Promise<number> {
    const body = new TextEncoder().encode(JSON.stringify(infoBody(info)));
    return this.#put("/c/info", body, "application/json", signal);
  }

  /** True when both clients talk to the same server with the same token and fingerprint. */
  sameCredentials(other: ConnectClient): boolean {
    return this.server === other.server && this.#token === other.#token &&
      this.#fingerprint === other.#fingerprint;
  }

  /** Removes the token from text that came from elsewhere (server answers, error messages). */
  scrub(text: string): string {
    let out = this.#token ? text.split(this.#token).join("***") : text;
    // deno-lint-ignore no-control-regex
    out = redactText(out).replace(/[\x00-\x1f\x7f]+/g, " ").trim();
    return out.length > 200 ? `${out.slice(0, 200)}…` : out;
  }

  async #put(
    path: string,
    body: Uint8Array,
    contentType: string,
    signal?: AbortSignal,
  ): Promise<number> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const what = `PUT ${path}`;
    let status: number;
    let text: string;
    let location: string | null;
    try {
      const res = await fetch(this.server + path, {
        method: "PUT",
        headers: {
          "Token": this.#token,
          "Fingerprint": this.#fingerprint,
          "Content-Type": contentType,
          "User-Agent": `detector/${VERSION}`,
        },
        body: body as Uint8Array<ArrayBuffer>,
        signal: combined,
        redirect: "manual",
      });
      status = res.status;
      location = res.headers.get("location");
      text = await readSome(res, 4096);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (timeout.aborted) {
        throw new ConnectError(
          "timeout",
          `${what}: no answer from ${this.server} within ${this.timeoutMs} ms`,
        );
      }
      throw new ConnectError(
        "network",
        `${what}: ${this.server} unreachable: ${this.scrub(errorMessage(err))}`,
      );
    }
    if (status >= 200 && status < 300) return status;
    const detail = text ? `: ${this.scrub(text)}` : "";
    const message = `${what}: HTTP ${status}${detail}`;
    if (status === 401) throw new ConnectError("auth", message, status, HINT_401);
    if (status === 403) throw new ConnectError("auth", message, status, HINT_403);
    if (status === 400 && /fingerprint/i.test(text)) {
      throw new ConnectError("auth", message, status, HINT_FINGERPRINT);
    }
    if (status >= 500 || status === 429) throw new ConnectError("server", message, status);
    if (status >= 300 && status < 400) {
      throw new ConnectError(
        "rejected",
        message,
        status,
        `the server redirects to ${this.scrub(location ?? "?")}: check --server`,
      );
    }
    throw new ConnectError("rejected", message, status);
  }
}

/** Reads at most `limit` bytes of a response body as text, then drops the rest. */
async function readSome(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all.subarray(0, limit));
}
