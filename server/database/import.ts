import { sql as raw } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Dialect, TableInfo } from "../../db/catalogue";
import { pgInvariants, sqliteInvariants, type Invariant } from "../../db/invariants";
import type { Config } from "../config";
import { DatabaseRefused } from "./configured";
import { fileLines } from "./dump-format";
import { migrateTarget, type Handle } from "./handle";
import { scanDump, type ScannedDump } from "./import-scan";
import { journalState } from "./journal-state";
import { dumpPlan, REPLACEABLE } from "./portable";
import { countRows, pgReader, quote, sqliteReader, type Row } from "./rows";
import { configuredKeyring } from "./secrets";

export type ImportSummary = {
  from: { dialect: Dialect; schema: string; exportedAt: string };
  into: { dialect: Handle["dialect"]; database: string };
  migrated: string[];
  tables: { name: string; rows: number }[];
  rows: number;
  /** PostgreSQL identity sequences moved past the imported ids. */
  sequences: number;
  secrets: { ciphertexts: number; masterKeys: string[] };
  invariants: Invariant[];
};

/**
 * Loads a dump into an empty database of either dialect: scanned whole first (scanDump), the master key
 * proven against the dump's ciphertexts, the target migrated and found empty; then every row in one
 * transaction, ids kept; on PostgreSQL every identity sequence is set past the largest id, so the next
 * insert does not collide. The invariants are checked after the commit and returned: the rows are the
 * dump's either way, and a failed check (exit 1) says the data was already off, or the import is wrong.
 */
export async function importDump(h: Handle, file: string, config: Config): Promise<ImportSummary> {
  if (h.dialect === "sqlite" && journalState(h.target.dataDir) === "live") {
    throw new DatabaseRefused(`a relay is running on ${h.target.dataDir}: stop it, import, then start it again`);
  }
  const scan = await scanDump(file, h.dialect);
  scan.secrets.verify(configuredKeyring(config));
  const migrated = await migrateTarget(h);
  await refuseNonEmpty(h);
  const sequences = h.dialect === "sqlite" ? await loadSqlite(h, file, scan) : await loadPg(h, file, scan);
  const invariants = h.dialect === "sqlite" ? sqliteInvariants(h.sqlite) : await pgInvariants(h.sql);
  const { header } = scan;
  return {
    from: { dialect: header.dialect, schema: header.schema, exportedAt: header.exportedAt },
    into: { dialect: h.dialect, database: h.target.label },
    migrated,
    tables: header.tables.map((t) => ({ name: t.name, rows: t.rows })),
    rows: header.tables.reduce((s, t) => s + t.rows, 0),
    sequences,
    secrets: { ciphertexts: scan.secrets.count, masterKeys: scan.secrets.keyIds() },
    invariants,
  };
}

async function refuseNonEmpty(h: Handle): Promise<void> {
  const r = h.dialect === "sqlite" ? sqliteReader(h.sqlite) : pgReader(h.sql);
  const full: string[] = [];
  for (const t of dumpPlan(h.dialect).carried) {
    if (REPLACEABLE.has(t.info.name)) continue;
    const n = await countRows(r, t.info.name);
    if (n > 0) full.push(`${t.info.name}: ${n}`);
  }
  if (full.length === 0) return;
  const fresh = h.dialect === "sqlite" ? "point RELAY_DATA_DIR at a new, empty directory" : "create a new database (createdb) and point RELAY_DATABASE_URL at it";
  throw new DatabaseRefused(`the target database is not empty (${full.join(", ")}); relay import loads only into an empty one: ${fresh}, and import again`);
}

/** A dump row as drizzle's insert takes it; a column the dump lacks (an older relay's) gets its default. */
function insertable(info: TableInfo, r: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of info.columns) {
    if (c.name in r) out[c.key] = r[c.name];
    else if (c.column.default !== undefined) out[c.key] = c.column.default;
  }
  return out;
}

/** Settings already in the target (a server started once on it) are replaced by the dump's. */
function upsertSet(info: TableInfo): Record<string, unknown> {
  return Object.fromEntries(info.columns.filter((c) => !info.primaryKey.includes(c.name)).map((c) => [c.key, raw.raw(`excluded.${quote(c.name)}`)]));
}

/** Consecutive rows of one table, at most `size` (rows × columns stay far below either dialect's parameter limit). */
async function* batches(file: string, scan: ScannedDump): AsyncGenerator<{ info: TableInfo; rows: Record<string, unknown>[] }> {
  let info: TableInfo | null = null;
  let rows: Record<string, unknown>[] = [];
  let first = true;
  for await (const { line } of fileLines(file)) {
    if (first) {
      first = false; // the header
      continue;
    }
    const { t, r } = JSON.parse(line) as { t: string; r: Row };
    const next = scan.tables.get(t)!;
    if (info && (next !== info || rows.length >= Math.floor(8000 / info.columns.length))) {
      yield { info, rows };
      rows = [];
    }
    info = next;
    rows.push(insertable(next, r));
  }
  if (info && rows.length) yield { info, rows };
}

async function loadSqlite(h: Extract<Handle, { dialect: "sqlite" }>, file: string, scan: ScannedDump): Promise<number> {
  // Raw BEGIN IMMEDIATE rather than db.transaction, whose body cannot await (the file is read as it goes);
  // the catch rolls back whatever fails, so the import is all or nothing. SQLite keeps AUTOINCREMENT's
  // sqlite_sequence past explicit ids by itself.
  h.sqlite.run("BEGIN IMMEDIATE");
  try {
    for await (const { info, rows } of batches(file, scan)) {
      const insert = h.db.insert(info.table as SQLiteTable).values(rows as never);
      if (REPLACEABLE.has(info.name)) insert.onConflictDoUpdate({ target: pkColumns(info) as never, set: upsertSet(info) as never }).run();
      else insert.run();
    }
    h.sqlite.run("COMMIT");
  } catch (e) {
    h.sqlite.run("ROLLBACK");
    throw e;
  }
  return 0;
}

async function loadPg(h: Extract<Handle, { dialect: "postgres" }>, file: string, scan: ScannedDump): Promise<number> {
  return h.db.transaction(async (tx) => {
    for await (const { info, rows } of batches(file, scan)) {
      const insert = tx.insert(info.table as PgTable).values(rows as never);
      if (REPLACEABLE.has(info.name)) await insert.onConflictDoUpdate({ target: pkColumns(info) as never, set: upsertSet(info) as never });
      else await insert;
    }
    // Ids were inserted explicitly, which an identity (or serial) column's sequence does not see.
    const seqs = (await tx.execute(raw`SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`)) as unknown as { table_name: string; column_name: string }[];
    for (const { table_name: t, column_name: c } of seqs) {
      await tx.execute(raw.raw(`SELECT setval(pg_get_serial_sequence('${quote(t)}', '${c}'), coalesce((SELECT max(${quote(c)}) FROM ${quote(t)}), 0) + 1, false)`));
    }
    return seqs.length;
  });
}

const pkColumns = (info: TableInfo) => info.primaryKey.map((n) => info.columns.find((c) => c.name === n)!.column);
