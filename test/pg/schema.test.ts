/**
 * The PostgreSQL schema (cluster mode) against a real server (test/support/services.ts): its migrations,
 * applied once however many instances start together; its sameness with the SQLite schema, table by table
 * and column by column, read from both databases as migrated (so a column added to one side only, or a
 * hand-edited migration that drifted from its drizzle schema, fails here); the accounts CHECK; and the
 * auth_epoch triggers with their `relay_auth` notifications.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { eq, getTableColumns, is } from "drizzle-orm";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { applyMigrations } from "../../db/migrate";
import * as sqliteSchema from "../../db/schema";
import { applyPgMigrations, PG_MIGRATION_LOCK } from "../../db/pg/migrate";
import { migrations as pgMigrations } from "../../db/pg/migrations";
import { openPg } from "../../db/pg/client";
import * as pgSchema from "../../db/pg/schema";
import { freshDatabase, type FreshDatabase } from "../support/services";

const T = 60_000;
const TAGS = pgMigrations.map((m) => m.tag);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- compile time: the row types are the same on both sides, so code can switch by import path ----------
type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
type Same<A, B> = { select: Equal<A, B> };
/** Columns only PostgreSQL has (cluster mode's shared holds; see PG_ONLY below). */
type PgOnly = "held" | "heldTokens";
const typesMatch: {
  [K in keyof typeof sqliteSchema & keyof typeof pgSchema]: (typeof sqliteSchema)[K] extends { $inferSelect: infer S; $inferInsert: infer I }
    ? (typeof pgSchema)[K] extends { $inferSelect: infer PS; $inferInsert: infer PI }
      ? Same<S, Omit<PS, PgOnly>> & { insert: Equal<I, Omit<PI, PgOnly>> }
      : never
    : true;
} = {
  users: { select: true, insert: true },
  apiKeys: { select: true, insert: true },
  channels: { select: true, insert: true },
  auditLog: { select: true, insert: true },
  settings: { select: true, insert: true },
  usageLog: { select: true, insert: true },
  ledger: { select: true, insert: true },
  prices: { select: true, insert: true },
  tokenUsage: { select: true, insert: true },
  // SQLite's `id integer PRIMARY KEY` is the rowid, assigned when omitted, so its insert type has `id?`;
  // PostgreSQL has no rowid. Only the migration inserts the one row (id 1), so the difference is left be.
  authEpoch: { select: true, insert: false },
  accounts: { select: true, insert: true },
  memberships: { select: true, insert: true },
  memberSpend: { select: true, insert: true },
  objects: { select: true, insert: true },
  webhooks: { select: true, insert: true },
  webhookDeliveries: { select: true, insert: true },
  webhookAttempts: { select: true, insert: true },
  ROLES: true,
};
const rowTypesMatch: [
  Equal<sqliteSchema.UserRow, pgSchema.UserRow>,
  Equal<sqliteSchema.ApiKeyRow, Omit<pgSchema.ApiKeyRow, PgOnly>>,
  Equal<sqliteSchema.ChannelRow, pgSchema.ChannelRow>,
  Equal<sqliteSchema.AuditRow, pgSchema.AuditRow>,
  Equal<sqliteSchema.UsageRow, pgSchema.UsageRow>,
  Equal<sqliteSchema.LedgerRow, pgSchema.LedgerRow>,
  Equal<sqliteSchema.PriceRow, pgSchema.PriceRow>,
  Equal<sqliteSchema.AccountRow, Omit<pgSchema.AccountRow, PgOnly>>,
  Equal<sqliteSchema.MembershipRow, Omit<pgSchema.MembershipRow, PgOnly>>,
  Equal<sqliteSchema.Role, pgSchema.Role>,
] = [true, true, true, true, true, true, true, true, true, true];

// ---- helpers ------------------------------------------------------------------------------------------------

const opened: { sql: SQL }[] = [];
const databases: FreshDatabase[] = [];

async function fresh(): Promise<FreshDatabase> {
  const d = await freshDatabase();
  databases.push(d);
  return d;
}

function pool(url: string, max = 4): SQL {
  const sql = new SQL(url, { max, connectionTimeout: 10 });
  opened.push({ sql });
  return sql;
}

/** A fresh database with the PostgreSQL migrations applied, and a pool on it. */
async function migrated(): Promise<{ url: string; sql: SQL }> {
  const d = await fresh();
  const sql = pool(d.url);
  await applyPgMigrations(sql);
  return { url: d.url, sql };
}

afterAll(async () => {
  for (const o of opened) await o.sql.close({ timeout: 0 }).catch(() => {});
  for (const d of databases) await d.drop().catch(() => {});
});

async function epoch(sql: SQL): Promise<number> {
  const [r] = await sql`SELECT n FROM auth_epoch WHERE id = 1`;
  return Number(r.n);
}

async function until(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function pgError(p: Promise<unknown>): Promise<{ errno?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { errno?: string; message: string; cause?: { errno?: string; message: string } };
    return err.errno ? err : (err.cause ?? err);
  }
  throw new Error("expected the statement to fail");
}

// ---- the two schemas, read from migrated databases ----------------------------------------------------------

type Column = { name: string; type: string; notNull: boolean; default: string | null };
type Described = {
  columns: Map<string, Map<string, Column>>;
  primaryKeys: Map<string, string[]>;
  /** table -> "name unique? (cols)" */
  indexes: Map<string, string[]>;
  /** table -> "cols -> table(cols) on delete X" */
  foreignKeys: Map<string, string[]>;
  checks: Map<string, string[]>;
  /** table -> "name EVENT [cols]" for INSERT, UPDATE and DELETE triggers */
  triggers: Map<string, string[]>;
};

const push = <V>(m: Map<string, V[]>, k: string, v: V) => m.set(k, [...(m.get(k) ?? []), v]);
const sorted = <V>(m: Map<string, V[]>) => new Map([...m].map(([k, v]) => [k, [...v].sort()] as const));

function describeSqlite(): Described {
  const db = new Database(":memory:");
  db.run("PRAGMA foreign_keys = ON");
  applyMigrations(db);
  const out: Described = { columns: new Map(), primaryKeys: new Map(), indexes: new Map(), foreignKeys: new Map(), checks: new Map(), triggers: new Map() };
  const tables = db
    .query<{ name: string; sql: string }, []>(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__relay_migrations'",
    )
    .all();
  for (const t of tables) {
    const info = db.query<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }, []>(`PRAGMA table_info("${t.name}")`).all();
    out.columns.set(t.name, new Map(info.map((c) => [c.name, { name: c.name, type: c.type, notNull: c.notnull === 1, default: c.dflt_value }])));
    out.primaryKeys.set(t.name, info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name));
    for (const ix of db.query<{ name: string; unique: number; origin: string }, []>(`PRAGMA index_list("${t.name}")`).all()) {
      if (ix.origin === "pk") continue;
      const cols = db.query<{ name: string }, []>(`PRAGMA index_info("${ix.name}")`).all().map((c) => c.name);
      push(out.indexes, t.name, `${ix.name} ${ix.unique ? "unique" : "index"} (${cols.join(",")})`);
    }
    const fks = db.query<{ id: number; table: string; from: string; to: string; on_delete: string }, []>(`PRAGMA foreign_key_list("${t.name}")`).all();
    for (const id of new Set(fks.map((f) => f.id))) {
      const parts = fks.filter((f) => f.id === id);
      push(out.foreignKeys, t.name, `(${parts.map((p) => p.from).join(",")}) -> ${parts[0]!.table}(${parts.map((p) => p.to).join(",")}) on delete ${parts[0]!.on_delete.toLowerCase()}`);
    }
    for (const m of t.sql.matchAll(/CONSTRAINT\s+["`](\w+)["`]\s+CHECK\s*\(/gi)) push(out.checks, t.name, m[1]!);
  }
  for (const tr of db.query<{ name: string; tbl_name: string; sql: string }, []>("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'").all()) {
    const m = /AFTER\s+(INSERT|DELETE|UPDATE)(?:\s+OF\s+(.+?))?\s+ON\s/i.exec(tr.sql);
    if (!m) throw new Error(`unparsed trigger ${tr.name}: ${tr.sql}`);
    const cols = m[2] ? m[2].split(",").map((c) => c.trim().replace(/^[`"]|[`"]$/g, "")).sort() : [];
    push(out.triggers, tr.tbl_name, `${tr.name} ${m[1]!.toUpperCase()} [${cols.join(",")}]`);
  }
  db.close();
  return { ...out, indexes: sorted(out.indexes), foreignKeys: sorted(out.foreignKeys), checks: sorted(out.checks), triggers: sorted(out.triggers) };
}

async function describePg(sql: SQL): Promise<Described> {
  const out: Described = { columns: new Map(), primaryKeys: new Map(), indexes: new Map(), foreignKeys: new Map(), checks: new Map(), triggers: new Map() };
  const cols: { table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null }[] = await sql`
    SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name <> '__relay_migrations' ORDER BY table_name, ordinal_position`;
  for (const c of cols) {
    if (!out.columns.has(c.table_name)) out.columns.set(c.table_name, new Map());
    out.columns.get(c.table_name)!.set(c.column_name, { name: c.column_name, type: c.data_type, notNull: c.is_nullable === "NO", default: c.column_default });
  }
  const ixs: { table: string; name: string; unique: boolean; primary: boolean; cols: string[] }[] = await sql`
    SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary,
      array(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS cols
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema() AND t.relname <> '__relay_migrations'`;
  for (const ix of ixs) {
    if (ix.primary) out.primaryKeys.set(ix.table, ix.cols);
    else push(out.indexes, ix.table, `${ix.name} ${ix.unique ? "unique" : "index"} (${ix.cols.join(",")})`);
  }
  const cons: { table: string; name: string; type: string; cols: string[]; ftable: string | null; fcols: string[]; del: string }[] = await sql`
    SELECT t.relname AS table, c.conname AS name, c.contype AS type, f.relname AS ftable, c.confdeltype AS del,
      array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS cols,
      array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS fcols
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid LEFT JOIN pg_class f ON f.oid = c.confrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema() AND c.contype IN ('f', 'c')`;
  const onDelete: Record<string, string> = { a: "no action", c: "cascade", r: "restrict", n: "set null", d: "set default" };
  for (const c of cons) {
    if (c.type === "c") push(out.checks, c.table, c.name);
    else push(out.foreignKeys, c.table, `(${c.cols.join(",")}) -> ${c.ftable}(${c.fcols.join(",")}) on delete ${onDelete[c.del]}`);
  }
  const trs: { name: string; table: string; event: string; cols: string[] }[] = await sql`
    SELECT t.trigger_name AS name, t.event_object_table AS table, t.event_manipulation AS event,
      array(SELECT u.event_object_column::text FROM information_schema.triggered_update_columns u
            WHERE u.trigger_schema = t.trigger_schema AND u.trigger_name = t.trigger_name
              AND u.event_object_table = t.event_object_table AND t.event_manipulation = 'UPDATE'
            ORDER BY 1) AS cols
    FROM information_schema.triggers t WHERE t.trigger_schema = current_schema() AND t.action_timing = 'AFTER'`;
  for (const t of trs) push(out.triggers, t.table, `${t.name} ${t.event} [${t.cols.join(",")}]`);
  return { ...out, indexes: sorted(out.indexes), foreignKeys: sorted(out.foreignKeys), checks: sorted(out.checks), triggers: sorted(out.triggers) };
}

/**
 * What only PostgreSQL has: cluster mode's shared holds (held columns, the holds table and its CHECK),
 * instances and config_epoch with its triggers. Embedded mode keeps holds in memory. Compared on their own.
 */
const PG_ONLY = {
  tables: ["holds", "instances", "config_epoch"],
  columns: ["accounts.held", "accounts.held_tokens", "api_keys.held", "memberships.held"],
  checks: ["accounts_held_within_balance"],
  triggers: ["channels_config_change", "prices_config_change"],
};

/** The part of PostgreSQL's schema that mirrors SQLite's. */
function mirrored(d: Described): Described {
  const keep = <V>(m: Map<string, V>) => new Map([...m].filter(([t]) => !PG_ONLY.tables.includes(t)));
  const columns = new Map([...keep(d.columns)].map(([t, cols]) => [t, new Map([...cols].filter(([c]) => !PG_ONLY.columns.includes(`${t}.${c}`)))] as const));
  const checks = new Map([...keep(d.checks)].map(([t, cs]) => [t, cs.filter((c) => !PG_ONLY.checks.includes(c))] as const));
  const triggers = new Map([...keep(d.triggers)].map(([t, ts]) => [t, ts.filter((x) => !PG_ONLY.triggers.some((p) => x.startsWith(p + " ")))] as const).filter(([, ts]) => ts.length > 0));
  return { columns, primaryKeys: keep(d.primaryKeys), indexes: keep(d.indexes), foreignKeys: keep(d.foreignKeys), checks, triggers };
}

/** PostgreSQL's column_default without its cast: `'[]'::jsonb` reads as SQLite's `'[]'`. */
const pgDefault = (d: string | null) => (d === null ? null : d.replace(/::[a-z ]+$/, ""));

/** SQLite columns whose live nullability differs from their drizzle schema, and so from PostgreSQL's. */
const SQLITE_NULLABLE_BY_ALTER = new Set(["users.account_id"]);

// ---- tests --------------------------------------------------------------------------------------------------

describe("PostgreSQL migrations", () => {
  test("apply on a fresh database, and a second run applies nothing", async () => {
    const d = await fresh();
    const sql = pool(d.url);
    expect(await applyPgMigrations(sql)).toEqual({ applied: TAGS });
    const rows: { tag: string; applied_at: string }[] = await sql`SELECT tag, applied_at FROM __relay_migrations ORDER BY tag`;
    expect(rows.map((r) => r.tag)).toEqual([...TAGS].sort());
    for (const r of rows) expect(Math.abs(Number(r.applied_at) - Date.now())).toBeLessThan(60_000);
    expect(await applyPgMigrations(sql)).toEqual({ applied: [] });
    expect(await sql`SELECT id, n FROM auth_epoch`).toEqual([{ id: 1, n: "0" }] as never);
    // The advisory lock is not left held by the pool.
    const [held] = await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    expect(held.n).toBe(0);
  }, T);

  test("several instances starting at once: all succeed, each migration is applied exactly once", async () => {
    const d = await fresh();
    const instances = [pool(d.url, 2), pool(d.url, 2), pool(d.url, 2), pool(d.url, 2)];
    const results = await Promise.all(instances.map((sql) => applyPgMigrations(sql)));
    expect(results.flatMap((r) => r.applied).sort()).toEqual([...TAGS].sort());
    // The lock covers the whole run: one instance migrates everything, the others find nothing to do.
    expect(results.filter((r) => r.applied.length > 0).map((r) => r.applied)).toEqual([TAGS]);
    const sql = instances[0]!;
    const [count] = await sql`SELECT count(*)::int AS n, count(DISTINCT tag)::int AS d FROM __relay_migrations`;
    expect(count).toEqual({ n: TAGS.length, d: TAGS.length });
    expect(await sql`SELECT id, n FROM auth_epoch`).toEqual([{ id: 1, n: "0" }] as never);
  }, T);

  test("an instance waits for the migration lock another holds, then migrates", async () => {
    const d = await fresh();
    const holder = pool(d.url, 1);
    const conn = await holder.reserve();
    await conn.unsafe(`SELECT pg_advisory_lock(${PG_MIGRATION_LOCK})`);
    const sql = pool(d.url);
    let done = false;
    const run = applyPgMigrations(sql).then((r) => ((done = true), r));
    await sleep(500);
    expect(done).toBe(false);
    const [tables] = await conn`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = '__relay_migrations'`;
    expect(tables.n).toBe(0);
    await conn.unsafe(`SELECT pg_advisory_unlock(${PG_MIGRATION_LOCK})`);
    conn.release();
    expect(await run).toEqual({ applied: TAGS });
  }, T);

  test("a failing migration leaves nothing of itself and releases the lock", async () => {
    const d = await fresh();
    const sql = pool(d.url);
    // A table in the way of the first migration's CREATE TABLE: that migration must roll back whole.
    await sql`CREATE TABLE prices (x int)`;
    const err = await pgError(applyPgMigrations(sql));
    expect(err.errno).toBe("42P07"); // duplicate_table
    const [t] = await sql`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'users'`;
    expect(t.n).toBe(0);
    expect(await sql`SELECT tag FROM __relay_migrations`).toHaveLength(0);
    const [held] = await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    expect(held.n).toBe(0);
    await sql`DROP TABLE prices`;
    expect(await applyPgMigrations(sql)).toEqual({ applied: TAGS });
  }, T);
});

describe("PostgreSQL schema mirrors SQLite's", () => {
  test("same exports, same tables, columns, nullability, defaults, keys, indexes, checks and triggers", async () => {
    expect(Object.keys(pgSchema).filter((k) => !["holds", "instances", "configEpoch"].includes(k)).sort()).toEqual(Object.keys(sqliteSchema).sort());
    expect(pgSchema.ROLES).toEqual(sqliteSchema.ROLES);
    expect(Object.values(typesMatch).length + rowTypesMatch.length).toBeGreaterThan(0);

    const { sql } = await migrated();
    const lite = describeSqlite();
    const all = await describePg(sql);
    const pg = mirrored(all);
    for (const t of PG_ONLY.tables) expect({ t, present: all.columns.has(t) }).toEqual({ t, present: true });
    for (const at of PG_ONLY.columns) expect({ at, present: all.columns.get(at.split(".")[0]!)!.has(at.split(".")[1]!) }).toEqual({ at, present: true });
    expect(all.checks.get("accounts")).toContain("accounts_held_within_balance");

    expect([...pg.columns.keys()].sort()).toEqual([...lite.columns.keys()].sort());
    for (const [table, liteCols] of lite.columns) {
      const pgCols = pg.columns.get(table)!;
      expect({ table, columns: [...pgCols.keys()].sort() }).toEqual({ table, columns: [...liteCols.keys()].sort() });
      for (const [name, l] of liteCols) {
        const p = pgCols.get(name)!;
        const at = `${table}.${name}`;
        const liteNotNull = SQLITE_NULLABLE_BY_ALTER.has(at) ? !l.notNull : l.notNull;
        expect({ at, notNull: p.notNull }).toEqual({ at, notNull: liteNotNull });
        expect({ at, default: pgDefault(p.default) }).toEqual({ at, default: l.default });
        const allowed = l.type === "INTEGER" ? ["integer", "bigint", "boolean"] : l.type === "TEXT" ? ["text", "jsonb"] : [];
        expect({ at, type: allowed.includes(p.type) }).toEqual({ at, type: true });
      }
    }
    // The exceptions are still exceptions (SQLite has the column nullable, its drizzle schema does not).
    for (const at of SQLITE_NULLABLE_BY_ALTER) {
      const [t, c] = at.split(".") as [string, string];
      expect(lite.columns.get(t)!.get(c)!.notNull).toBe(false);
    }

    expect(pg.primaryKeys).toEqual(lite.primaryKeys);
    expect(pg.indexes).toEqual(lite.indexes);
    expect(pg.foreignKeys).toEqual(lite.foreignKeys);
    expect(pg.checks).toEqual(lite.checks);
    expect(pg.checks.get("accounts")).toEqual(["accounts_credits_non_negative"]);
    expect(pg.triggers).toEqual(lite.triggers);

    // PostgreSQL only: TRUNCATE bumps the epoch too (information_schema does not list TRUNCATE triggers).
    const truncates: { name: string }[] = await sql`
      SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE '%\_auth\_truncate' ORDER BY 1`;
    expect(truncates.map((r) => r.name)).toEqual(["accounts_auth_truncate", "api_keys_auth_truncate", "memberships_auth_truncate", "users_auth_truncate"]);
  }, T);

  test("column types follow the drizzle SQLite schema: booleans, JSON, 64-bit integers", async () => {
    const { sql } = await migrated();
    const pg = await describePg(sql);
    for (const table of Object.values(sqliteSchema)) {
      if (!is(table, SQLiteTable)) continue;
      const cfg = getTableConfig(table);
      for (const col of cfg.columns) {
        const at = `${cfg.name}.${col.name}`;
        const pgType = pg.columns.get(cfg.name)!.get(col.name)!.type;
        const expected =
          col.columnType === "SQLiteBoolean" ? ["boolean"] : col.columnType === "SQLiteTextJson" ? ["jsonb"] : col.columnType === "SQLiteText" ? ["text"] : ["integer", "bigint"];
        expect({ at, ok: expected.includes(pgType) }).toEqual({ at, ok: true });
        expect({ at, notNull: pg.columns.get(cfg.name)!.get(col.name)!.notNull }).toEqual({ at, notNull: col.notNull });
      }
    }
    // Amounts, counts, limits and times are 64-bit, as SQLite's INTEGER is.
    for (const at of ["accounts.credits", "ledger.amount", "ledger.balance_after", "api_keys.spent", "usage_log.cost", "token_usage.tokens", "member_spend.credits", "usage_log.at", "auth_epoch.n", "usage_log.id", "ledger.id"]) {
      const [t, c] = at.split(".") as [string, string];
      expect({ at, type: pg.columns.get(t)!.get(c)!.type }).toEqual({ at, type: "bigint" });
    }
    // drizzle's column objects say the same (a number in and out).
    expect(getTableColumns(pgSchema.accounts).credits.columnType).toBe("PgBigInt53");
  }, T);
});

describe("PostgreSQL constraints", () => {
  test("accounts refuses a negative balance", async () => {
    const { sql } = await migrated();
    const insert = await pgError(sql`INSERT INTO accounts (kind, name, credits, created_at) VALUES ('user', 'neg', -1, 0)`);
    expect(insert.errno).toBe("23514"); // check_violation
    expect(insert.message).toContain("accounts_credits_non_negative");
    const [a] = await sql`INSERT INTO accounts (kind, name, credits, created_at) VALUES ('user', 'ok', 5, 0) RETURNING id`;
    expect((await pgError(sql`UPDATE accounts SET credits = credits - 6 WHERE id = ${a.id}`)).errno).toBe("23514");
    await sql`UPDATE accounts SET credits = credits - 5 WHERE id = ${a.id}`;
    const [after] = await sql`SELECT credits FROM accounts WHERE id = ${a.id}`;
    expect(Number(after.credits)).toBe(0);
  }, T);

  test("foreign keys cascade as SQLite's do, and users.account_id restricts", async () => {
    const { sql } = await migrated();
    const [acct] = await sql`INSERT INTO accounts (kind, name, created_at) VALUES ('user', 'a', 0) RETURNING id`;
    const [org] = await sql`INSERT INTO accounts (kind, name, created_at) VALUES ('org', 'o', 0) RETURNING id`;
    const [user] = await sql`INSERT INTO users (name, account_id, created_at) VALUES ('a', ${acct.id}, 0) RETURNING id`;
    await sql`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (${org.id}, ${user.id}, 'owner', 0)`;
    await sql`INSERT INTO api_keys (account_id, user_id, hash, created_at) VALUES (${org.id}, ${user.id}, 'h1', 0)`;
    await sql`INSERT INTO api_keys (account_id, user_id, hash, created_at) VALUES (${acct.id}, ${user.id}, 'h2', 0)`;
    expect((await pgError(sql`DELETE FROM accounts WHERE id = ${acct.id}`)).errno).toBe("23503"); // a user's account
    await sql`DELETE FROM accounts WHERE id = ${org.id}`;
    expect(await sql`SELECT hash FROM api_keys`).toEqual([{ hash: "h2" }] as never);
    expect(await sql`SELECT * FROM memberships`).toHaveLength(0);
    await sql`DELETE FROM users WHERE id = ${user.id}`;
    expect(await sql`SELECT * FROM api_keys`).toHaveLength(0);
  }, T);
});

describe("auth_epoch on PostgreSQL", () => {
  test("api_keys insert, update and delete bump it and notify relay_auth; settlement columns do not", async () => {
    const { url, sql } = await migrated();
    const [acct] = await sql`INSERT INTO accounts (kind, name, created_at) VALUES ('user', 'k', 0) RETURNING id`;
    const [user] = await sql`INSERT INTO users (name, account_id, created_at) VALUES ('k', ${acct.id}, 0) RETURNING id`;

    // Another instance's listener: its own pool, its own dedicated LISTEN connection.
    const listener = pool(url, 1);
    const got: string[] = [];
    const sub = await listener.listen("relay_auth", (payload) => got.push(payload));
    try {
      let n = await epoch(sql);
      const bumped = async (what: string, by: number, payloads: string[]) => {
        await until(`${what}: ${payloads.join(", ")}`, () => got.length >= payloads.length);
        await sleep(100); // nothing more arrives
        expect({ what, got: [...got] }).toEqual({ what, got: payloads });
        got.length = 0;
        const next = await epoch(sql);
        expect({ what, by: next - n }).toEqual({ what, by });
        n = next;
      };

      const [key] = await sql`INSERT INTO api_keys (account_id, user_id, hash, created_at) VALUES (${acct.id}, ${user.id}, 'hash-1', 0) RETURNING id`;
      await bumped("insert", 1, ["api_keys"]);

      await sql`UPDATE api_keys SET label = 'renamed' WHERE id = ${key.id}`;
      await bumped("update of label", 1, ["api_keys"]);

      await sql`UPDATE api_keys SET enabled = false, allow_ips = '["10.0.0.0/8"]'::jsonb WHERE id = ${key.id}`;
      await bumped("update of enabled and allow_ips", 1, ["api_keys"]);

      // What the settlement writer touches on every batch is not authentication's business.
      await sql`UPDATE api_keys SET spent = spent + 7, last_used_at = 123 WHERE id = ${key.id}`;
      await sql`UPDATE accounts SET credits = credits + 100 WHERE id = ${acct.id}`;
      await sleep(200);
      expect(got).toEqual([]);
      expect(await epoch(sql)).toBe(n);

      // A rolled-back change neither bumps nor notifies.
      await sql
        .begin(async (tx) => {
          await tx`UPDATE api_keys SET label = 'never' WHERE id = ${key.id}`;
          throw new Error("roll back");
        })
        .catch(() => {});
      await sleep(200);
      expect(got).toEqual([]);
      expect(await epoch(sql)).toBe(n);

      // Row-level as SQLite's: one bump per row; one notification per table per transaction.
      await sql.begin(async (tx) => {
        await tx`INSERT INTO api_keys (account_id, user_id, hash, created_at) VALUES (${acct.id}, ${user.id}, 'hash-2', 0), (${acct.id}, ${user.id}, 'hash-3', 0)`;
        await tx`UPDATE accounts SET suspended = true WHERE id = ${acct.id}`;
      });
      await bumped("a transaction of three rows on two tables", 3, ["api_keys", "accounts"]);

      await sql`DELETE FROM api_keys WHERE id = ${key.id}`;
      await bumped("delete", 1, ["api_keys"]);

      await sql`TRUNCATE api_keys`;
      await bumped("truncate", 1, ["api_keys"]);
    } finally {
      await sub.unlisten();
    }
  }, T);

  test("users, accounts and memberships bump it on the columns SQLite's triggers name", async () => {
    const { sql } = await migrated();
    const bumps = async (q: () => Promise<unknown>) => {
      const before = await epoch(sql);
      await q();
      return (await epoch(sql)) - before;
    };
    const [acct] = (await sql`INSERT INTO accounts (kind, name, created_at) VALUES ('user', 'u', 0) RETURNING id`) as { id: number }[];
    const [org] = (await sql`INSERT INTO accounts (kind, name, created_at) VALUES ('org', 'o', 0) RETURNING id`) as { id: number }[];
    let userId = 0;
    expect(
      await bumps(async () => {
        [{ id: userId }] = await sql`INSERT INTO users (name, account_id, created_at) VALUES ('u', ${acct!.id}, 0) RETURNING id`;
      }),
    ).toBe(1);
    expect(await bumps(() => sql`UPDATE users SET password_hash = 'x' WHERE id = ${userId}`)).toBe(1);
    expect(await bumps(() => sql`UPDATE accounts SET rpm = 5, models = '["m"]'::jsonb WHERE id = ${org!.id}`)).toBe(1);
    expect(await bumps(() => sql`UPDATE accounts SET credits = 9 WHERE id = ${org!.id}`)).toBe(0);
    expect(await bumps(() => sql`INSERT INTO memberships (account_id, user_id, role, created_at) VALUES (${org!.id}, ${userId}, 'member', 0)`)).toBe(1);
    expect(await bumps(() => sql`UPDATE memberships SET monthly_spend = 10 WHERE user_id = ${userId}`)).toBe(1);
    expect(await bumps(() => sql`DELETE FROM memberships WHERE user_id = ${userId}`)).toBe(1);
    // Deleting the org cascades to nothing left; deleting the user cascades to its keys (each a row).
    await sql`INSERT INTO api_keys (account_id, user_id, hash, created_at) VALUES (${acct!.id}, ${userId}, 'a', 0), (${acct!.id}, ${userId}, 'b', 0)`;
    expect(await bumps(() => sql`DELETE FROM users WHERE id = ${userId}`)).toBe(3);
    expect(await bumps(() => sql`DELETE FROM accounts WHERE id = ${org!.id}`)).toBe(1);
  }, T);
});

describe("openPg", () => {
  test("migrates, and drizzle round-trips jsonb as JSON (not a JSON string) and bigint as number", async () => {
    const d = await fresh();
    const { sql, db } = await openPg(d.url, { max: 2 });
    opened.push({ sql });
    expect(await applyPgMigrations(sql)).toEqual({ applied: [] });
    const { accounts, apiKeys, auditLog, users } = pgSchema;

    const [a] = await db.insert(accounts).values({ kind: "org", name: "big", credits: 2 ** 40, models: ["gpt-x"] }).returning();
    expect(a!.credits).toBe(2 ** 40);
    expect(typeof a!.createdAt).toBe("number");
    expect(a!.models).toEqual(["gpt-x"]);
    const [u] = await db.insert(users).values({ name: "owner", accountId: a!.id }).returning();
    const [k] = await db.insert(apiKeys).values({ accountId: a!.id, userId: u!.id, hash: "h", allowIps: ["10.0.0.0/8"] }).returning();
    expect(k).toMatchObject({ allowIps: ["10.0.0.0/8"], scopes: ["full"], models: null, enabled: true, group: "either", spent: 0 });
    await db.update(apiKeys).set({ models: ["a", "b"] }).where(eq(apiKeys.id, k!.id));
    await db.insert(auditLog).values({ at: Date.now(), actor: "t", action: "x", detail: { n: 1, s: "it's", list: [1] } });

    const raw = await sql`
      SELECT jsonb_typeof(k.allow_ips) AS ips, jsonb_typeof(k.models) AS models, jsonb_typeof(k.scopes) AS scopes,
             k.allow_ips ? '10.0.0.0/8' AS has, (SELECT detail->>'s' FROM audit_log) AS s, jsonb_typeof(a.models) AS amodels
      FROM api_keys k JOIN accounts a ON a.id = k.account_id`;
    expect(raw).toEqual([{ ips: "array", models: "array", scopes: "array", has: true, s: "it's", amodels: "array" }] as never);

    const [back] = await db.select().from(apiKeys).where(eq(apiKeys.id, k!.id));
    expect(back!.models).toEqual(["a", "b"]);
    const [acct] = await db.select().from(accounts).where(eq(accounts.id, a!.id));
    expect(acct!.credits).toBe(2 ** 40);
    // Raw Bun.sql reads int8 as a string: what server code using `sql` directly must expect.
    const [r] = await sql`SELECT credits FROM accounts WHERE id = ${a!.id}`;
    expect(r.credits).toBe(String(2 ** 40));
  }, T);
});
