/**
 * Backend → worker messages (docs/protocol.md), validated at the edge. A frame that fails validation
 * yields a `MessageError` whose text names the offending field; nothing here throws.
 */
import { remoteSchemes } from "../sources/mod.ts";
import type { Crop, SubscriptionSpec } from "./subscription_spec.ts";

export const MAX_FRAME_BYTES = 1024 * 1024;

export type SessionIdValue = number | string | null;

export type BackendMessage =
  | {
    type: "setSubscriptionList";
    subscriptions: SubscriptionSpec[];
    /** Entries of the list that were refused, each with the reason. */
    rejected: string[];
  }
  | { type: "subscribe"; subscription: SubscriptionSpec }
  | { type: "unsubscribe"; subscriptionIdentifier: string }
  | { type: "requestState" }
  | { type: "setSessionId"; displayIdentifier: string; sessionId: SessionIdValue }
  | {
    type: "patchSessionResult";
    sessionId: SessionIdValue;
    success: boolean;
    message?: string;
  };

export interface MessageError {
  error: string;
  /** The message's `type` when it had a string one, else null. */
  received: string | null;
}

export type ParseResult = { ok: true; message: BackendMessage } | ({ ok: false } & MessageError);

export const messageTypes = [
  "setSubscriptionList",
  "subscribe",
  "unsubscribe",
  "requestState",
  "setSessionId",
  "patchSessionResult",
] as const;

const MAX_IDENTIFIER = 256;
const MAX_URL = 4096;
const MAX_LIST = 1000;
/** Schemes of `rtspUrl`: every source kind a remote party may name (src/sources/registry.ts). */
const STREAM_SCHEMES = remoteSchemes();

class FieldError extends Error {}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `"${v.length > 40 ? v.slice(0, 40) + "…" : v}"`;
  return typeof v === "object" ? "an object" : String(v);
}

/** UTF-8 size of a string without encoding it when the answer is obvious. */
export function utf8Length(s: string): number {
  if (s.length * 3 <= MAX_FRAME_BYTES) return s.length; // a lower bound is enough below the limit
  return new TextEncoder().encode(s).byteLength;
}

/** Parses one WebSocket frame. */
export function parseMessage(data: string | ArrayBuffer | Blob | Uint8Array): ParseResult {
  if (typeof data !== "string") {
    return { ok: false, error: "binary frames are not accepted; send JSON text", received: null };
  }
  const size = utf8Length(data);
  if (size > MAX_FRAME_BYTES) {
    return {
      ok: false,
      error: `frame of ${size} bytes is larger than the limit of ${MAX_FRAME_BYTES} bytes`,
      received: null,
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch (err) {
    return {
      ok: false,
      error: `not JSON: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200),
      received: null,
    };
  }
  if (!isObject(raw)) {
    return { ok: false, error: `expected a JSON object, got ${describe(raw)}`, received: null };
  }
  if (typeof raw.type !== "string") {
    return {
      ok: false,
      error: raw.type === undefined
        ? 'missing field "type"'
        : `field "type" must be a string, got ${describe(raw.type)}`,
      received: null,
    };
  }
  const type = raw.type;
  try {
    return { ok: true, message: validate(type, raw) };
  } catch (err) {
    if (err instanceof FieldError) {
      return { ok: false, error: err.message, received: type.slice(0, 64) };
    }
    throw err;
  }
}

function validate(type: string, raw: Obj): BackendMessage {
  switch (type) {
    case "setSubscriptionList":
      return subscriptionList(raw);
    case "subscribe":
      return { type, subscription: subscription(payload(raw), "payload") };
    case "unsubscribe": {
      const p = payload(raw);
      return {
        type,
        subscriptionIdentifier:
          identifier(p.subscriptionIdentifier, "payload.subscriptionIdentifier")
            .id,
      };
    }
    case "requestState":
      return { type };
    case "setSessionId": {
      const p = payload(raw);
      const display = p.displayIdentifier;
      if (typeof display !== "string" || display === "" || display.length > MAX_IDENTIFIER) {
        throw new FieldError(
          display === undefined
            ? 'missing field "payload.displayIdentifier"'
            : `"payload.displayIdentifier" must be a non-empty string, got ${describe(display)}`,
        );
      }
      if (!("sessionId" in p)) throw new FieldError('missing field "payload.sessionId"');
      return { type, displayIdentifier: display, sessionId: sessionId(p.sessionId) };
    }
    case "patchSessionResult": {
      const p = payload(raw);
      if (typeof p.success !== "boolean") {
        throw new FieldError(
          p.success === undefined
            ? 'missing field "payload.success"'
            : `"payload.success" must be true or false, got ${describe(p.success)}`,
        );
      }
      if (p.message !== undefined && p.message !== null && typeof p.message !== "string") {
        throw new FieldError(`"payload.message" must be a string, got ${describe(p.message)}`);
      }
      return {
        type,
        sessionId: sessionId(p.sessionId ?? null),
        success: p.success,
        message: typeof p.message === "string" ? p.message.slice(0, 1000) : undefined,
      };
    }
    default:
      throw new FieldError(
        `unknown message type "${type.slice(0, 64)}"; known: ${messageTypes.join(", ")}`,
      );
  }
}

function payload(raw: Obj): Obj {
  if (raw.payload === undefined) throw new FieldError('missing field "payload"');
  if (!isObject(raw.payload)) {
    throw new FieldError(`"payload" must be an object, got ${describe(raw.payload)}`);
  }
  return raw.payload;
}

function sessionId(v: unknown): SessionIdValue {
  if (v === null) return null;
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "string" && v !== "" && v.length <= MAX_IDENTIFIER) return v;
  throw new FieldError(
    `"payload.sessionId" must be an integer, a string or null, got ${describe(v)}`,
  );
}

function subscriptionList(raw: Obj): BackendMessage {
  const list = raw.subscriptions;
  if (list === undefined) throw new FieldError('missing field "subscriptions"');
  if (!Array.isArray(list)) {
    throw new FieldError(`"subscriptions" must be an array, got ${describe(list)}`);
  }
  if (list.length > MAX_LIST) {
    throw new FieldError(`"subscriptions" has ${list.length} entries; the limit is ${MAX_LIST}`);
  }
  const subscriptions: SubscriptionSpec[] = [];
  const rejected: string[] = [];
  const seen = new Set<string>();
  list.forEach((entry, i) => {
    try {
      const s = subscription(entry, `subscriptions[${i}]`);
      if (seen.has(s.subscriptionIdentifier)) {
        throw new FieldError(
          `subscriptions[${i}].subscriptionIdentifier "${s.subscriptionIdentifier}" is listed twice; the first one is used`,
        );
      }
      seen.add(s.subscriptionIdentifier);
      subscriptions.push(s);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      rejected.push(err.message);
    }
  });
  return { type: "setSubscriptionList", subscriptions, rejected };
}

function identifier(v: unknown, path: string): { id: string; display: string; camera: string } {
  if (v === undefined) throw new FieldError(`missing field "${path}"`);
  if (typeof v !== "string") throw new FieldError(`"${path}" must be a string, got ${describe(v)}`);
  if (v.length > MAX_IDENTIFIER) {
    throw new FieldError(`"${path}" is longer than ${MAX_IDENTIFIER} characters`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f/]/.test(v)) {
    throw new FieldError(`"${path}" must not contain control characters or "/"`);
  }
  const parts = v.split(";");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new FieldError(
      `"${path}" must be "display;camera" with exactly one ";" and both parts non-empty, got ${
        describe(v)
      }`,
    );
  }
  return { id: v, display: parts[0], camera: parts[1] };
}

function url(v: unknown, path: string, schemes: string[]): string {
  if (typeof v !== "string" || v === "") {
    throw new FieldError(`"${path}" must be a non-empty string, got ${describe(v)}`);
  }
  if (v.length > MAX_URL) throw new FieldError(`"${path}" is longer than ${MAX_URL} characters`);
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new FieldError(`"${path}" is not a valid URL`);
  }
  if (!schemes.includes(parsed.protocol)) {
    throw new FieldError(
      `"${path}" has scheme "${parsed.protocol}"; allowed: ${schemes.join(" ")}`,
    );
  }
  return v;
}

function modelUrl(v: unknown, path: string): string {
  if (typeof v !== "string" || v === "") {
    throw new FieldError(
      v === undefined
        ? `missing field "${path}"`
        : `"${path}" must be a non-empty string, got ${describe(v)}`,
    );
  }
  if (v.length > MAX_URL) throw new FieldError(`"${path}" is longer than ${MAX_URL} characters`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return url(v, path, ["http:", "https:", "file:"]);
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f]/.test(v)) throw new FieldError(`"${path}" contains control characters`);
  return v; // a local path
}

function integer(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new FieldError(
      `"${path}" must be an integer between ${min} and ${max}, got ${describe(v)}`,
    );
  }
  return v;
}

const cropKeys = ["cropX1", "cropY1", "cropX2", "cropY2"] as const;

function crop(o: Obj, path: string): Crop | undefined {
  const present = cropKeys.filter((k) => o[k] !== undefined && o[k] !== null);
  if (present.length === 0) return undefined;
  if (present.length !== 4) {
    const missing = cropKeys.filter((k) => !present.includes(k));
    throw new FieldError(
      `crop needs all of cropX1, cropY1, cropX2, cropY2; missing ${
        missing.map((k) => `"${path}.${k}"`).join(", ")
      }`,
    );
  }
  const [x1, y1, x2, y2] = cropKeys.map((k) => integer(o[k], `${path}.${k}`, 0, 100_000));
  if (x2 <= x1) {
    throw new FieldError(`"${path}.cropX2" (${x2}) must be greater than cropX1 (${x1})`);
  }
  if (y2 <= y1) {
    throw new FieldError(`"${path}.cropY2" (${y2}) must be greater than cropY1 (${y1})`);
  }
  return { x1, y1, x2, y2 };
}

/** Validates one subscription object; `path` prefixes field names in errors. */
export function subscription(v: unknown, path: string): SubscriptionSpec {
  if (!isObject(v)) throw new FieldError(`"${path}" must be an object, got ${describe(v)}`);
  const id = identifier(v.subscriptionIdentifier, `${path}.subscriptionIdentifier`);
  const has = (k: string) => v[k] !== undefined && v[k] !== null && v[k] !== "";
  if (!has("rtspUrl") && !has("snapshotUrl")) {
    throw new FieldError(`"${path}" needs "rtspUrl" or "snapshotUrl" (${id.id})`);
  }
  if (v.modelId === undefined) throw new FieldError(`missing field "${path}.modelId"`);
  const spec: SubscriptionSpec = {
    subscriptionIdentifier: id.id,
    displayId: id.display,
    cameraId: id.camera,
    modelUrl: modelUrl(v.modelUrl, `${path}.modelUrl`),
    modelId: integer(v.modelId, `${path}.modelId`, 0, Number.MAX_SAFE_INTEGER),
  };
  if (has("rtspUrl")) spec.rtspUrl = url(v.rtspUrl, `${path}.rtspUrl`, STREAM_SCHEMES);
  if (has("snapshotUrl")) {
    spec.snapshotUrl = url(v.snapshotUrl, `${path}.snapshotUrl`, ["http:", "https:"]);
  }
  if (v.snapshotInterval !== undefined && v.snapshotInterval !== null) {
    spec.snapshotInterval = integer(v.snapshotInterval, `${path}.snapshotInterval`, 50, 3_600_000);
  }
  if (spec.snapshotUrl && !spec.snapshotInterval && !spec.rtspUrl) {
    throw new FieldError(`"${path}.snapshotInterval" (ms) is required with "snapshotUrl"`);
  }
  if (v.modelName !== undefined && v.modelName !== null) {
    if (typeof v.modelName !== "string" || v.modelName.length > 256) {
      throw new FieldError(
        `"${path}.modelName" must be a string of at most 256 characters, got ${
          describe(v.modelName)
        }`,
      );
    }
    spec.modelName = v.modelName;
  }
  const c = crop(v, path);
  if (c) spec.crop = c;
  return spec;
}

/** The `error` reply (docs/protocol.md). */
export function errorReply(message: string, received: string | null) {
  return { type: "error", message, received };
}
