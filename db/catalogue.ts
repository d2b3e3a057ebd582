import { getTableColumns, is, type Column } from "drizzle-orm";
import { getTableConfig as sqliteTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { getTableConfig as pgTableConfig, PgTable } from "drizzle-orm/pg-core";
import * as sqliteSchema from "./schema";
import * as pgSchema from "./pg/schema";
import { migrations as sqliteMigrations } from "./migrations";
import { migrations as pgMigrations } from "./pg/migrations";

/*
 * The tables of each dialect, read from the drizzle schema objects rather than listed by hand, so that
 * whatever walks every table (export and import, the invariant checks) carries a table or column the
 * day it is added to db/schema or db/pg/schema.
 */

export type Dialect = "sqlite" | "postgres";

export type ColumnInfo = {
  /** The SQL name (`account_id`): what dumps and raw queries use. */
  name: string;
  /** The drizzle property (`accountId`): what drizzle's insert and select use. */
  key: string;
  column: Column;
};

export type TableInfo = {
  name: string;
  table: SQLiteTable | PgTable;
  columns: ColumnInfo[];
  /** SQL names of the primary key's columns, in order. */
  primaryKey: string[];
  /** Tables this one has foreign keys to (itself excluded). */
  references: string[];
};

const cache = new Map<Dialect, TableInfo[]>();

/** The latest migration tag of a dialect: the schema version a database of it is at once migrated. */
export const latestMigration = (dialect: Dialect): string => (dialect === "sqlite" ? sqliteMigrations : pgMigrations).at(-1)!.tag;

/** Every migration tag of a dialect, oldest first. */
export const migrationTags = (dialect: Dialect): string[] => (dialect === "sqlite" ? sqliteMigrations : pgMigrations).map((m) => m.tag);

/**
 * Every table of the dialect's schema in dependency order: a table comes after every table its foreign
 * keys point at, so inserting in this order never breaks a constraint. Ties go alphabetically, so the
 * order is the same on every run and in both dialects.
 */
export function tablesOf(dialect: Dialect): TableInfo[] {
  const hit = cache.get(dialect);
  if (hit) return hit;
  const infos = dialect === "sqlite" ? Object.values(sqliteSchema).filter((v) => is(v, SQLiteTable)).map(sqliteInfo) : Object.values(pgSchema).filter((v) => is(v, PgTable)).map(pgInfo);
  const sorted = dependencyOrder(infos);
  cache.set(dialect, sorted);
  return sorted;
}

/** The table of that name in the dialect, if it has one. */
export const tableOf = (dialect: Dialect, name: string): TableInfo | undefined => tablesOf(dialect).find((t) => t.name === name);

function columnsOf(table: SQLiteTable | PgTable): ColumnInfo[] {
  return Object.entries(getTableColumns(table)).map(([key, column]) => ({ name: column.name, key, column }));
}

function sqliteInfo(table: SQLiteTable): TableInfo {
  const cfg = sqliteTableConfig(table);
  const columns = columnsOf(table);
  const composite = cfg.primaryKeys[0]?.columns.map((c) => c.name);
  return {
    name: cfg.name,
    table,
    columns,
    primaryKey: composite ?? columns.filter((c) => c.column.primary).map((c) => c.name),
    references: cfg.foreignKeys.map((fk) => sqliteTableConfig(fk.reference().foreignTable).name).filter((n) => n !== cfg.name),
  };
}

function pgInfo(table: PgTable): TableInfo {
  const cfg = pgTableConfig(table);
  const columns = columnsOf(table);
  const composite = cfg.primaryKeys[0]?.columns.map((c) => c.name);
  return {
    name: cfg.name,
    table,
    columns,
    primaryKey: composite ?? columns.filter((c) => c.column.primary).map((c) => c.name),
    references: cfg.foreignKeys.map((fk) => pgTableConfig(fk.reference().foreignTable).name).filter((n) => n !== cfg.name),
  };
}

function dependencyOrder(infos: TableInfo[]): TableInfo[] {
  const byName = new Map(infos.map((t) => [t.name, t]));
  const placed = new Set<string>();
  const out: TableInfo[] = [];
  while (out.length < infos.length) {
    const ready = infos.filter((t) => !placed.has(t.name) && t.references.every((r) => placed.has(r) || !byName.has(r)));
    // A cycle of foreign keys would need deferred constraints; the schema has none, so say so loudly.
    if (ready.length === 0) throw new Error(`foreign keys form a cycle among: ${infos.filter((t) => !placed.has(t.name)).map((t) => t.name).join(", ")}`);
    ready.sort((a, b) => (a.name < b.name ? -1 : 1));
    const next = ready[0]!;
    placed.add(next.name);
    out.push(next);
  }
  return out;
}
