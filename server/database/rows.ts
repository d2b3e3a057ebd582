import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import type { ColumnInfo, Dialect } from "../../db/catalogue";
import type { Carried } from "./portable";

/*
 * Rows read with raw SQL and turned into the dump's dialect-neutral values by each column's own drizzle
 * mapping: SQLite's 0/1 booleans and JSON text, PostgreSQL's int8-as-string all come out as the JS values
 * drizzle would give (numbers, booleans, parsed JSON, null). Raw rather than drizzle's select so one
 * paging query serves every table of either dialect.
 */

export type Row = Record<string, unknown>;

/** Raw queries on one connection (inside the export's snapshot transaction). */
export type Reader = { dialect: Dialect; all(query: string, params?: unknown[]): Promise<Row[]> };

export const sqliteReader = (sqlite: Database): Reader => ({
  dialect: "sqlite",
  all: async (query, params = []) => sqlite.query<Row, any[]>(query).all(...(params as any[])),
});

export const pgReader = (sql: SQL): Reader => ({
  dialect: "postgres",
  all: async (query, params = []) => (await sql.unsafe(query, params as any[])) as Row[],
});

export const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const param = (r: Reader, i: number) => (r.dialect === "sqlite" ? "?" : `$${i}`);
const isInteger = (c: ColumnInfo) => /int/i.test(c.column.getSQLType());
/** PostgreSQL sorts text by the database's collation; "C" is bytewise, as SQLite's BINARY, so both dialects dump in one order. */
const orderBy = (r: Reader, c: ColumnInfo) => (r.dialect === "postgres" && c.column.getSQLType() === "text" ? `${quote(c.name)} COLLATE "C"` : quote(c.name));

const PAGE = 2000;

export async function countRows(r: Reader, table: string, where = "", params: unknown[] = []): Promise<number> {
  const [row] = await r.all(`SELECT count(*) AS n FROM ${quote(table)}${where ? ` WHERE ${where}` : ""}`, params);
  return Number(row!.n);
}

/**
 * Rows that a dialect-only column holds something other than its default in: state the dump would lose.
 * A column without a plain default must be null.
 */
export async function countNonDefault(r: Reader, table: string, c: ColumnInfo): Promise<number> {
  const def = c.column.default;
  if (def === undefined || def === null || typeof def === "object") return countRows(r, table, `${quote(c.name)} IS NOT NULL`);
  return countRows(r, table, `${quote(c.name)} IS NOT NULL AND ${quote(c.name)} <> ${param(r, 1)}`, [c.column.mapToDriverValue(def)]);
}

/**
 * A carried table's rows in primary-key order, as dump rows keyed by SQL column name. A single integer key
 * is paged (usage_log and ledger can be large); other keys belong to small tables, read in one query.
 */
export async function* tableRows(r: Reader, t: Carried): AsyncGenerator<Row> {
  const cols = t.columns.map((c) => quote(c.name)).join(", ");
  const pk = t.info.primaryKey.map((n) => t.info.columns.find((c) => c.name === n)!);
  const base = `SELECT ${cols} FROM ${quote(t.info.name)}`;
  if (pk.length === 1 && isInteger(pk[0]!)) {
    const key = pk[0]!;
    let last: unknown = null;
    for (;;) {
      const page = await r.all(
        last === null ? `${base} ORDER BY ${quote(key.name)} LIMIT ${PAGE}` : `${base} WHERE ${quote(key.name)} > ${param(r, 1)} ORDER BY ${quote(key.name)} LIMIT ${PAGE}`,
        last === null ? [] : [last],
      );
      for (const raw of page) yield neutral(t.columns, raw);
      if (page.length < PAGE) return;
      last = page.at(-1)![key.name];
    }
  }
  for (const raw of await r.all(`${base} ORDER BY ${pk.map((c) => orderBy(r, c)).join(", ")}`)) yield neutral(t.columns, raw);
}

function neutral(columns: ColumnInfo[], raw: Row): Row {
  const out: Row = {};
  for (const c of columns) {
    const v = raw[c.name];
    if (v === null || v === undefined) {
      out[c.name] = null;
      continue;
    }
    const mapped = c.column.mapFromDriverValue(v);
    // A JS number is exact to 2^53; a larger int8 would change in the dump, so refuse rather than round.
    if (isInteger(c) && typeof mapped === "number" && !Number.isSafeInteger(mapped)) throw new Error(`${c.name} holds ${String(v)}, beyond what a dump keeps exactly`);
    out[c.name] = canonical(mapped);
  }
  return out;
}

/**
 * JSON with object keys sorted, at every depth: PostgreSQL's jsonb reorders keys and SQLite keeps them as
 * written, so sorting makes the dumps of the same data identical line for line, whichever dialect wrote them.
 */
export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Row)[k])]));
}
