/**
 * One write to Redis or PostgreSQL, as the pipeline produces it and as the spool stores it (JSON,
 * bytes in base64). Spool files are read back as hostile input: `parseWriteOp` checks every field.
 */
import { decodeBase64, encodeBase64 } from "./base64.ts";

export type RedisOp =
  | { sink: "redis"; op: "set"; key: string; value: Uint8Array; ttl?: number }
  | { sink: "redis"; op: "publish"; channel: string; message: string };

export type FieldValue = string | number | null;

export type PostgresOp =
  | {
    sink: "postgres";
    op: "initial_session";
    sessionId: string;
    displayId: string;
    capturedTimestamp: string;
  }
  | {
    sink: "postgres";
    op: "upsert";
    table: string;
    keyField: string;
    keyValue: string;
    fields: Record<string, FieldValue>;
    /** Columns set to the server's NOW() (a field whose template is exactly `NOW()`). */
    now?: string[];
  };

export type WriteOp = RedisOp | PostgresOp;

export function serializeOp(op: WriteOp): unknown {
  if (op.sink === "redis" && op.op === "set") {
    return { ...op, value: encodeBase64(op.value) };
  }
  return op;
}

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== "string") throw new Error(`spool entry: "${k}" must be a string`);
  return v;
}

function strings(v: unknown, k: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new Error(`spool entry: "${k}" must be a list of strings`);
  }
  return v;
}

export function parseWriteOp(raw: unknown): WriteOp {
  if (!raw || typeof raw !== "object") throw new Error("spool entry is not an object");
  const o = raw as Record<string, unknown>;
  const kind = `${o.sink}/${o.op}`;
  switch (kind) {
    case "redis/set": {
      const ttl = o.ttl;
      if (ttl !== undefined && (typeof ttl !== "number" || !(ttl > 0))) {
        throw new Error('spool entry: "ttl" must be a positive number');
      }
      return {
        sink: "redis",
        op: "set",
        key: str(o, "key"),
        value: decodeBase64(str(o, "value")),
        ...(ttl !== undefined ? { ttl: ttl as number } : {}),
      };
    }
    case "redis/publish":
      return {
        sink: "redis",
        op: "publish",
        channel: str(o, "channel"),
        message: str(o, "message"),
      };
    case "postgres/initial_session":
      return {
        sink: "postgres",
        op: "initial_session",
        sessionId: str(o, "sessionId"),
        displayId: str(o, "displayId"),
        capturedTimestamp: str(o, "capturedTimestamp"),
      };
    case "postgres/upsert": {
      const fields = o.fields;
      if (!fields || typeof fields !== "object" || Array.isArray(fields)) {
        throw new Error('spool entry: "fields" must be an object');
      }
      for (const v of Object.values(fields)) {
        if (v !== null && typeof v !== "string" && typeof v !== "number") {
          throw new Error('spool entry: "fields" values must be strings, numbers or null');
        }
      }
      return {
        sink: "postgres",
        op: "upsert",
        table: str(o, "table"),
        keyField: str(o, "keyField"),
        keyValue: str(o, "keyValue"),
        fields: fields as Record<string, FieldValue>,
        ...(o.now !== undefined ? { now: strings(o.now, "now") } : {}),
      };
    }
    default:
      throw new Error(`spool entry: unknown write ${JSON.stringify(kind)}`);
  }
}
