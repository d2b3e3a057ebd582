import { integer, pgTable } from "drizzle-orm/pg-core";
import { int64 } from "./columns";

/**
 * One row (id 1) whose counter grows whenever a key, user, account or membership changes in a way
 * authentication cares about, from any connection or instance: plpgsql triggers (migration
 * 0001_auth_epoch_triggers) bump it, so no writer has to remember to, and each bump also sends
 * `pg_notify('relay_auth', <table name>)`, delivered to every LISTENing instance when the writing
 * transaction commits (PostgreSQL folds identical notifications of one transaction into one). The
 * same column lists as SQLite's triggers (db/migrations/0008): a column added to api_keys, users or
 * accounts that authentication reads must be added to both. Mirrors db/schema/auth-epoch.ts.
 */
export const authEpoch = pgTable("auth_epoch", {
  id: integer("id").primaryKey(),
  n: int64("n").notNull(),
});
