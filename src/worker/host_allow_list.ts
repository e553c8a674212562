/**
 * Which hosts the backend may point the worker at (`--allow-hosts`): camera streams and model
 * downloads. Entries are host names (`cam1.lan`), subdomain wildcards (`*.cams.lan`), IPv4/IPv6
 * addresses or CIDR ranges (`10.20.0.0/16`, `[fd00::]/8`), each optionally with `:PORT`.
 * The name written in the URL is matched; it is not resolved, so list names or addresses, not
 * both. URLs without a host (generated `testpattern:` frames, local model files) are not network
 * requests and always allowed.
 */
import { BlockList, isIP } from "node:net";
import type { SubscriptionSpec } from "./subscription_spec.ts";

interface Entry {
  text: string;
  port?: number;
  matches(host: string): boolean;
}

function stripBrackets(h: string): string {
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

function parseEntry(raw: string, flag: string): Entry {
  const text = raw.trim().toLowerCase();
  const fail = (why: string) => new Error(`${flag}: "${raw.trim()}" ${why}`);
  let host = text;
  let port: number | undefined;
  const m = /^(\[[^\]]+\](?:\/\d+)?|[^:]+):(\d+)$/.exec(text);
  if (m) {
    host = m[1];
    port = Number(m[2]);
    if (port < 1 || port > 65535) throw fail("has a port outside 1-65535");
  }
  const slash = host.indexOf("/");
  if (slash >= 0) {
    const addr = stripBrackets(host.slice(0, slash));
    const bits = Number(host.slice(slash + 1));
    const family = isIP(addr);
    if (!family || !Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) {
      throw fail("is not an address range like 10.0.0.0/8");
    }
    const list = new BlockList();
    const type = family === 4 ? "ipv4" : "ipv6";
    list.addSubnet(addr, bits, type);
    return {
      text,
      port,
      matches: (h) => {
        const f = isIP(h);
        return f !== 0 && list.check(h, f === 4 ? "ipv4" : "ipv6");
      },
    };
  }
  host = stripBrackets(host);
  if (host.startsWith("*.")) {
    const suffix = host.slice(1);
    if (!/^(\.[a-z0-9-]+)+$/.test(suffix)) throw fail("is not a wildcard like *.cams.lan");
    return { text, port, matches: (h) => h.endsWith(suffix) && h.length > suffix.length };
  }
  if (
    !isIP(host) && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)
  ) {
    throw fail("is not a host name, address or range");
  }
  if (isIP(host) === 6) {
    const list = new BlockList();
    list.addAddress(host, "ipv6");
    return { text, port, matches: (h) => isIP(h) === 6 && list.check(h, "ipv6") };
  }
  return { text, port, matches: (h) => h === host };
}

const DEFAULT_PORTS: Record<string, number> = {
  "http:": 80,
  "https:": 443,
  "rtsp:": 554,
  "rtsps:": 322,
  "rtmp:": 1935,
  "rtmps:": 443,
};

export class HostAllowList {
  private constructor(private readonly entries: Entry[], readonly flag: string) {}

  /** A comma- or space-separated list; errors name the flag and the entry. */
  static parse(text: string, flag: string): HostAllowList {
    const entries = text.split(/[\s,]+/).filter(Boolean).map((e) => parseEntry(e, flag));
    if (entries.length === 0) throw new Error(`${flag} lists no host`);
    return new HostAllowList(entries, flag);
  }

  /** The host a URL points at when the list does not allow it, else undefined. */
  refusedHost(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      // A local path, or a URL this parser cannot read: refused, since its host is unknown.
      return /^[a-z][a-z0-9+.-]*:/i.test(url) ? "(unreadable)" : undefined;
    }
    if (u.protocol === "file:" || u.protocol === "testpattern:") return undefined;
    const host = stripBrackets(u.hostname.toLowerCase());
    const port = u.port ? Number(u.port) : DEFAULT_PORTS[u.protocol];
    const shown = u.port ? `${u.hostname}:${u.port}` : u.hostname || "(no host)";
    if (!host) return shown;
    const ok = this.entries.some((e) =>
      e.matches(host) && (e.port === undefined || e.port === port)
    );
    return ok ? undefined : shown;
  }
}

export interface UrlPolicy {
  /** Camera streams and snapshot URLs. */
  streams?: HostAllowList;
  /** `modelUrl` downloads. */
  models?: HostAllowList;
}

/** Why a subscription is refused under the policy (naming the host), or undefined. */
export function policyRefusal(spec: SubscriptionSpec, policy: UrlPolicy): string | undefined {
  const id = spec.subscriptionIdentifier;
  for (const [field, url] of [["rtspUrl", spec.rtspUrl], ["snapshotUrl", spec.snapshotUrl]]) {
    const host = url && policy.streams?.refusedHost(url);
    if (host) {
      return `subscription "${id}": ${field} host ${host} is not allowed by ${
        policy.streams!.flag
      }`;
    }
  }
  const host = policy.models?.refusedHost(spec.modelUrl);
  if (host) {
    return `subscription "${id}": modelUrl host ${host} is not allowed by ${policy.models!.flag}`;
  }
  return undefined;
}
