/**
 * PostgreSQL writes: the session row and `postgresql_update_combined` upserts. Names are checked
 * plain identifiers (also when read back from the spool), values are always bound parameters.
 */
import postgres from "postgres";
import { redactText, redactUrl } from "../core/mod.ts";
import { CREATE_SESSION_TABLE, INSERT_SESSION } from "./session_table.ts";
import { checkIdentifier, IdentifierError, qualifiedTable, quoteIdent } from "./sql_identifiers.ts";
import type { FailureKind, WriteTarget } from "./write_queue.ts";
import type { FieldValue, PostgresOp, WriteOp } from "./write_op.ts";

/** The statement and parameters of an upsert. Throws on a name that is not an identifier. */
export function buildUpsert(op: Extract<PostgresOp, { op: "upsert" }>): {
  text: string;
  params: FieldValue[];
} {
  const table = qualifiedTable(op.table);
  const key = quoteIdent(checkIdentifier(op.keyField, "key_field"));
  const now = new Set(op.now ?? []);
  const columns = [...Object.keys(op.fields), ...now];
  if (columns.length === 0) throw new IdentifierError("upsert without fields");
  const seen = new Set<string>([op.keyField.toLowerCase()]);
  const cols: string[] = [], values: string[] = [], sets: string[] = [];
  const params: FieldValue[] = [op.keyValue];
  for (const c of columns) {
    const q = quoteIdent(checkIdentifier(c, `fields column`));
    if (seen.has(c.toLowerCase())) throw new IdentifierError(`column "${c}" is given twice`);
    seen.add(c.toLowerCase());
    cols.push(q);
    if (now.has(c)) {
      values.push("NOW()");
    } else {
      const v = op.fields[c];
      params.push(typeof v === "number" ? String(v) : v);
      values.push(`$${params.length}`);
    }
    sets.push(`${q} = EXCLUDED.${q}`);
  }
  return {
    text: `INSERT INTO ${table} (${key}, ${cols.join(", ")}) VALUES ($1, ${
      values.join(", ")
    }) ON CONFLICT (${key}) DO UPDATE SET ${sets.join(", ")}`,
    params,
  };
}

/**
 * SQLSTATEs that say this write can never succeed: bad data (22), constraints (23), unknown
 * column or table, wrong type (42, except 42501 which a GRANT fixes), unsupported (0A). Every
 * other state (08 connection, 28 auth, 53 resources such as 53300 too many connections, 57
 * such as 57P03 starting up, 40 conflicts, 55 locks, 25006 read-only, XX…) is retried.
 */
const PERMANENT_STATES = /^(22|23|42|0A|21|2F|44)/;

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? code : undefined;
}

export class PostgresTarget implements WriteTarget {
  readonly name: string;
  #sql: postgres.Sql;
  #tableReady = false;

  constructor(url: string) {
    this.name = redactUrl(url);
    this.#sql = postgres(url, {
      max: 2,
      connect_timeout: 5,
      idle_timeout: 60,
      // The array types query postgres.js sends on every new connection rejects unhandled when
      // the connection ends during it (a restart, pg_terminate_backend), killing the process;
      // every value written here is a scalar, so it is not needed.
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: "detector" },
    });
  }

  async exec(op: WriteOp): Promise<void> {
    if (op.sink !== "postgres") throw new Error(`not a PostgreSQL write: ${op.sink}`);
    if (op.op === "initial_session") {
      await this.#ensureSessionTable();
      await this.#sql.unsafe(INSERT_SESSION, [op.displayId, op.capturedTimestamp, op.sessionId]);
      return;
    }
    const { text, params } = buildUpsert(op);
    await this.#sql.unsafe(text, params as (string | null)[]);
  }

  async #ensureSessionTable(): Promise<void> {
    if (this.#tableReady) return;
    for (const stmt of CREATE_SESSION_TABLE) {
      try {
        await this.#sql.unsafe(stmt);
      } catch (err) {
        // Two processes creating the schema at once: the loser sees a duplicate; fine.
        if (!["23505", "42P06", "42P07"].includes(pgCode(err) ?? "")) throw err;
      }
    }
    this.#tableReady = true;
  }

  classify(err: unknown): FailureKind {
    const code = pgCode(err);
    if (code && /^[0-9A-Z]{5}$/.test(code)) {
      if (PERMANENT_STATES.test(code) && code !== "42501") return "rejected";
      this.#tableReady = false;
      return "unavailable";
    }
    if (err instanceof IdentifierError) return "rejected";
    this.#tableReady = false;
    return "unavailable";
  }

  describe(err: unknown): string {
    const code = pgCode(err);
    const msg = redactText(err instanceof Error ? err.message : String(err));
    if (code === "28P01" || code === "28000") {
      return `authentication failed (${msg}); check the password in the archive's postgresql block or DETECTOR_POSTGRES_URL`;
    }
    return code ? `${msg} (${code})` : msg;
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 2 });
  }
}

/** `postgres://user:pass@host:port/db` from an archive's `postgresql` block. */
export function postgresUrl(c: {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}): string {
  const e = encodeURIComponent;
  return `postgres://${e(c.username)}:${e(c.password)}@${hostPart(c.host)}:${c.port}/${
    e(c.database)
  }`;
}

export function hostPart(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
