/** An HTTP/1.x request head as the front door reads it off the wire (RFC 9112 §3, §5). */
export interface RequestHead {
  method: string;
  /** The request target as sent: `/path?query` (origin form) or an absolute URL. */
  target: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: string;
  /** Field lines in order, names lower-cased, values trimmed. */
  headers: [string, string][];
  /** The client expects the connection to stay open after the response. */
  keepAlive: boolean;
  /** A message body follows (Content-Length above 0, or any Transfer-Encoding). */
  hasBody: boolean;
  /** The client asks to switch protocols (WebSocket). */
  upgrade: boolean;
}

const decoder = new TextDecoder("latin1");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses the bytes of a head, up to and including its blank line; undefined when it is not a
 * well-formed HTTP/1.x request head (the caller then leaves the answer to the full HTTP server).
 */
export function parseRequestHead(bytes: Uint8Array): RequestHead | undefined {
  const lines = decoder.decode(bytes).split("\r\n");
  const request = lines[0].split(" ");
  if (request.length !== 3) return undefined;
  const [method, target, version] = request;
  if (!TOKEN.test(method) || target === "") return undefined;
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return undefined;
  const headers: [string, string][] = [];
  let keepAlive = version === "HTTP/1.1";
  let hasBody = false;
  let upgrade = false;
  let host = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name)) return undefined;
    const value = line.slice(colon + 1).trim();
    headers.push([name, value]);
    switch (name) {
      case "host":
        host++;
        break;
      case "content-length":
        if (!/^\d+$/.test(value)) return undefined;
        if (Number(value) > 0) hasBody = true;
        break;
      case "transfer-encoding":
        hasBody = true;
        break;
      case "upgrade":
        upgrade = true;
        break;
      case "connection": {
        const tokens = value.toLowerCase().split(",").map((t) => t.trim());
        if (tokens.includes("close")) keepAlive = false;
        else if (tokens.includes("keep-alive")) keepAlive = true;
        if (tokens.includes("upgrade")) upgrade = true;
        break;
      }
    }
  }
  // HTTP/1.1 requires exactly one Host (RFC 9112 §3.2): anything else is the full server's to refuse.
  if (version === "HTTP/1.1" && host !== 1) return undefined;
  return { method, target, version, headers, keepAlive, hasBody, upgrade };
}

/** The absolute URL of a request, built the way the HTTP server builds `Request.url`. */
export function requestUrl(head: RequestHead, localHost: string): string | undefined {
  if (head.target.startsWith("/")) {
    const host = head.headers.find(([n]) => n === "host")?.[1] || localHost;
    return `http://${host}${head.target}`;
  }
  if (/^https?:\/\//i.test(head.target)) return head.target;
  return undefined;
}
