import { Database } from "bun:sqlite";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import { applyMigrations } from "./migrate";
import * as schema from "./schema";

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database };

/** Opens (or creates) the database, sets the pragmas a server needs and applies pending migrations. */
export function openDb(path: string): Db {
  const sqlite = new Database(path, { create: true, strict: true });
  sqlite.run("PRAGMA journal_mode = WAL");
  // NORMAL under WAL never corrupts and survives a process crash; only an OS crash can lose the last commits.
  sqlite.run("PRAGMA synchronous = NORMAL");
  sqlite.run("PRAGMA busy_timeout = 5000");
  sqlite.run("PRAGMA foreign_keys = ON");
  applyMigrations(sqlite);
  return drizzle(sqlite, { schema }) as Db;
}

export { schema };
