import { SQL } from "bun";
import { drizzle, type BunSQLDatabase } from "drizzle-orm/bun-sql";
import { applyPgMigrations } from "./migrate";
import * as schema from "./schema";

export type PgDb = BunSQLDatabase<typeof schema> & { $client: SQL };

export type OpenPgOptions = {
  /** Pool size (Bun.sql's `max`). @default 10 */
  max?: number;
  /** Apply pending migrations before returning, as openDb does for SQLite. @default true */
  migrate?: boolean;
};

/**
 * Connects to PostgreSQL (cluster mode) with Bun's built-in client, applies pending migrations
 * (under an advisory lock: several instances may start at once) and returns the pool and a drizzle
 * instance over it. Raw queries on `sql` see int8 columns (every bigint column here) as strings, and
 * SUM()/COUNT() as strings too; drizzle's columns map them to numbers.
 */
export async function openPg(url: string, options: OpenPgOptions = {}): Promise<{ sql: SQL; db: PgDb }> {
  const sql = new SQL(url, { max: options.max ?? 10 });
  try {
    if (options.migrate ?? true) await applyPgMigrations(sql);
    else await sql`SELECT 1`;
  } catch (e) {
    await sql.close({ timeout: 0 }).catch(() => {});
    throw e;
  }
  const db = drizzle({ client: sql, schema }) as PgDb;
  return { sql, db };
}

export { schema };
