/**
 * Table and column names of `postgresql_update_combined` (docs/mpta.md "Actions"): plain identifiers
 * only, `[A-Za-z_][A-Za-z0-9_]*`, a table optionally as `schema.table`. They are emitted quoted
 * in lower case, which is what PostgreSQL does with unquoted names, so reserved words work too.
 */
import { SESSION_SCHEMA } from "./session_table.ts";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_LEN = 63;

export class IdentifierError extends Error {
  override name = "IdentifierError";
}

/** Throws unless `name` is a plain identifier; `what` names the field in the error. */
export function checkIdentifier(name: unknown, what: string): string {
  if (typeof name !== "string" || !IDENT.test(name) || name.length > MAX_LEN) {
    throw new IdentifierError(
      `${what} ${
        JSON.stringify(name)
      } is not a plain identifier (letters, digits, _; not starting with a digit; at most ${MAX_LEN} characters)`,
    );
  }
  return name;
}

export function quoteIdent(name: string): string {
  return `"${name.toLowerCase()}"`;
}

/** `table` or `schema.table` → quoted `"schema"."table"` (default schema gas_station_1). */
export function qualifiedTable(table: unknown, what = "table"): string {
  if (typeof table !== "string") throw new IdentifierError(`${what} must be a string`);
  const parts = table.split(".");
  if (parts.length > 2) {
    throw new IdentifierError(`${what} ${JSON.stringify(table)} has more than one "."`);
  }
  const [schema, name] = parts.length === 2 ? parts : [SESSION_SCHEMA, parts[0]];
  return `${quoteIdent(checkIdentifier(schema, `${what} schema`))}.${
    quoteIdent(checkIdentifier(name, what))
  }`;
}
