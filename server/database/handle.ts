import { Database } from "bun:sqlite";
import type { SQL } from "bun";
import { existsSync, mkdirSync } from "node:fs";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { applyMigrations } from "../../db/migrate";
import { migrations as sqliteMigrations } from "../../db/migrations";
import { migrations as pgMigrations } from "../../db/pg/migrations";
import { applyPgMigrations } from "../../db/pg/migrate";
import { openPg, type PgDb } from "../../db/pg/client";
import * as schema from "../../db/schema";
import type { Db } from "../../db/client";
import { DatabaseRefused, type Target } from "./configured";

/** An open database of either dialect, for the admin commands that work on it without a server. */
export type Handle =
  | { dialect: "sqlite"; target: Extract<Target, { dialect: "sqlite" }>; sqlite: Database; db: Db; close(): Promise<void> }
  | { dialect: "postgres"; target: Extract<Target, { dialect: "postgres" }>; sql: SQL; db: PgDb; close(): Promise<void> };

/**
 * Opens the target without migrating it (unlike openDb and the server's start), so that `migrate` can
 * say what it applied and `export` can refuse a database an older relay left behind. `create` makes the
 * SQLite file (and its data dir) when missing; otherwise a missing file is refused.
 */
export async function openTarget(target: Target, opts: { create: boolean }): Promise<Handle> {
  if (target.dialect === "postgres") {
    const { sql, db } = await openPg(target.url, { max: 4, migrate: false });
    return { dialect: "postgres", target, sql, db, close: () => sql.close() };
  }
  if (!opts.create && !existsSync(target.path)) throw new DatabaseRefused(`no database at ${target.path} (RELAY_DATA_DIR is ${target.dataDir})`);
  mkdirSync(target.dataDir, { recursive: true, mode: 0o700 });
  const sqlite = new Database(target.path, { create: true, strict: true });
  // The pragmas openDb sets (db/client.ts), for the same reasons.
  sqlite.run("PRAGMA journal_mode = WAL");
  sqlite.run("PRAGMA synchronous = NORMAL");
  sqlite.run("PRAGMA busy_timeout = 5000");
  sqlite.run("PRAGMA foreign_keys = ON");
  const db = drizzle(sqlite, { schema }) as Db;
  return { dialect: "sqlite", target, sqlite, db, close: async () => sqlite.close() };
}

/** Tags of the embedded migrations this database has not applied yet, oldest first. */
export async function pendingMigrations(h: Handle): Promise<string[]> {
  let done: Set<string>;
  if (h.dialect === "sqlite") {
    const tracked = h.sqlite.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__relay_migrations'").get();
    done = new Set(tracked ? h.sqlite.query<{ tag: string }, []>("SELECT tag FROM __relay_migrations").all().map((r) => r.tag) : []);
    return sqliteMigrations.map((m) => m.tag).filter((t) => !done.has(t));
  }
  const [reg] = await h.sql`SELECT to_regclass('__relay_migrations') AS t`;
  done = new Set(reg?.t ? ((await h.sql`SELECT tag FROM __relay_migrations`) as { tag: string }[]).map((r) => r.tag) : []);
  return pgMigrations.map((m) => m.tag).filter((t) => !done.has(t));
}

/** Applies what is pending (PostgreSQL under its advisory lock, as every starting instance does); returns the tags applied. */
export async function migrateTarget(h: Handle): Promise<string[]> {
  if (h.dialect === "sqlite") return applyMigrations(h.sqlite);
  return (await applyPgMigrations(h.sql)).applied;
}
