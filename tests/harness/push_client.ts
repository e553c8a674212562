/** Helpers for tests that speak the WebSocket push protocol and read `/metrics`. */

export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** `[id u32 LE][token length u32 LE][token UTF-8]`. */
export function handshake(cameraId: number, token: string): Uint8Array {
  const t = new TextEncoder().encode(token);
  return concat(u32le(cameraId), u32le(t.byteLength), t);
}

/** `[length u32 LE][JPEG]`. */
export function framed(jpeg: Uint8Array): Uint8Array {
  return concat(u32le(jpeg.byteLength), jpeg);
}

export interface PushPeer {
  ws: WebSocket;
  /** Resolves with the close code and reason, whoever closed. */
  closed: Promise<{ code: number; reason: string }>;
  send(bytes: Uint8Array | string): void;
}

/** Opens a WebSocket to `{base}/push` and waits until it is open. */
export async function openPush(baseUrl: string): Promise<PushPeer> {
  const ws = new WebSocket(baseUrl.replace(/^http/, "ws") + "/push");
  ws.binaryType = "arraybuffer";
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error("WebSocket to /push failed")), {
      once: true,
    });
  });
  return { ws, closed, send: (b) => ws.send(b) };
}

/** Closes the socket if it is still open and waits for the close to finish. */
export async function closePeer(peer: PushPeer): Promise<void> {
  if (peer.ws.readyState === WebSocket.OPEN || peer.ws.readyState === WebSocket.CONNECTING) {
    peer.ws.close(1000, "done");
  }
  await peer.closed;
}

/** The value of one sample in Prometheus text, 0 when absent. Labels must match exactly. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  const keys = Object.keys(labels).sort();
  const want = keys.length ? `{${keys.map((k) => `${k}="${labels[k]}"`).join(",")}}` : "";
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}${want} `)) {
      return Number(line.slice(name.length + want.length + 1));
    }
  }
  return 0;
}

export async function metrics(baseUrl: string): Promise<string> {
  return await (await fetch(`${baseUrl}/metrics`)).text();
}

/**
 * One masked client WebSocket frame with a zero mask key (RFC 6455 allows any key; zero leaves the
 * payload as is), so frames can be built once and written in bulk.
 */
export function rawWsFrame(payload: Uint8Array, opcode = 0x2): Uint8Array {
  const n = payload.byteLength;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + ext + 4 + n);
  out[0] = 0x80 | opcode;
  const view = new DataView(out.buffer);
  if (ext === 0) out[1] = 0x80 | n;
  else if (ext === 2) {
    out[1] = 0x80 | 126;
    view.setUint16(2, n);
  } else {
    out[1] = 0x80 | 127;
    view.setBigUint64(2, BigInt(n));
  }
  out.set(payload, 2 + ext + 4);
  return out;
}

/**
 * A WebSocket client on a raw TCP socket: the upgrade by hand, then the push handshake. Writing
 * pre-built frames in large batches costs the sender almost no CPU, unlike `WebSocket.send`.
 */
export async function openRawPush(
  port: number,
  cameraId: number,
  token: string,
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(new TextEncoder().encode(
    `GET /push HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  let head = "";
  const buf = new Uint8Array(4096);
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("server closed during the upgrade");
    head += new TextDecoder().decode(buf.subarray(0, n));
  }
  if (!head.startsWith("HTTP/1.1 101")) {
    conn.close();
    throw new Error(`upgrade refused: ${head.split("\r\n")[0]}`);
  }
  await conn.write(rawWsFrame(handshake(cameraId, token)));
  return conn;
}

/** `count` copies of a frame back to back, for bulk writes. */
export function repeatBytes(frame: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(frame.byteLength * count);
  for (let i = 0; i < count; i++) out.set(frame, i * frame.byteLength);
  return out;
}
