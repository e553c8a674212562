/**
 * The one place that hides secrets in anything shown: URLs in specs, logs, errors, ffmpeg command
 * lines and messages. It follows the WHATWG URL parser: the userinfo ends at the LAST `@` before
 * the host ends (so a raw `@` in a password is still hidden), the host ends at `/`, `?`, `#` (and
 * `\` for special schemes), special schemes (http, https, ws, wss, ftp) take any number of
 * slashes or backslashes after the colon. Query parameters that carry secrets (`token`,
 * `password`, `api_key`, `X-Amz-Signature`…) are hidden too.
 */

const SCHEME = /([a-zA-Z][a-zA-Z0-9+.-]*):([/\\]*)/g;
const SPECIAL = new Set(["http", "https", "ws", "wss", "ftp"]);
const SECRET_PARAM =
  /([?&;](?:[\w.-]*(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|signature|credential)|pass|key|sig|auth)=)([^&#\s"'<>]*)/gi;
const MASK = "***";

/** In free text a URL also ends at whitespace and quotes; a whole spec only where WHATWG ends it. */
function authorityEnd(text: string, from: number, special: boolean, inText: boolean): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "/" || c === "?" || c === "#" || (special && c === "\\")) return i;
    if (inText && (c === '"' || c === "'" || c === "<" || c === ">" || c === "`" || /\s/.test(c))) {
      return i;
    }
  }
  return text.length;
}

function redactUserinfo(text: string, inText: boolean): string {
  let out = "";
  let last = 0;
  SCHEME.lastIndex = 0;
  for (let m = SCHEME.exec(text); m; m = SCHEME.exec(text)) {
    const scheme = m[1].toLowerCase();
    const slashes = m[2];
    const special = SPECIAL.has(scheme);
    // A non-special scheme only has an authority after "//"; "error: x" is not a URL.
    if (!special && slashes !== "//") continue;
    if (special && slashes === "" && !/[@]/.test(text.slice(SCHEME.lastIndex).split(/\s/)[0])) {
      continue;
    }
    const start = SCHEME.lastIndex;
    const end = authorityEnd(text, start, special, inText);
    const authority = text.slice(start, end);
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      const colon = userinfo.indexOf(":");
      if (colon >= 0) {
        out += text.slice(last, start) + userinfo.slice(0, colon) + ":" + MASK;
        last = start + at;
      }
    }
    SCHEME.lastIndex = Math.max(end, start);
  }
  return out + text.slice(last);
}

/** Hides passwords and secret query parameters of a URL or URL-like spec. */
export function redactUrl(spec: string): string {
  return redactUserinfo(spec, false).replace(SECRET_PARAM, (_m, name) => `${name}${MASK}`);
}

/** Hides passwords and secret query parameters of every URL inside free text. */
export function redactText(text: string): string {
  return redactUserinfo(text, true).replace(SECRET_PARAM, (_m, name) => `${name}${MASK}`);
}
