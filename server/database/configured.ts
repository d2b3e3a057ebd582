import type { Config } from "../config";
import type { Dialect } from "../../db/catalogue";

/** Which database the configuration selects, for the commands that work on it directly (no server needed). */
export type Target =
  | { dialect: "sqlite"; path: string; dataDir: string; label: string }
  | { dialect: "postgres"; url: string; label: string };

/** A refusal the operator can act on: printed as one `error:` line, exit 1. */
export class DatabaseRefused extends Error {}

const PG_URL = /^postgres(ql)?:\/\//;

/**
 * RELAY_DATABASE_URL (postgres://…, cluster mode). Read from the parsed config once config.ts has the
 * field, from the environment until then: loadConfig drops RELAY_* variables its schema does not name.
 */
export function databaseUrl(config: Config, env: Record<string, string | undefined> = Bun.env): string | undefined {
  const url = (config as { RELAY_DATABASE_URL?: string }).RELAY_DATABASE_URL ?? (env.RELAY_DATABASE_URL || undefined);
  if (url !== undefined && !PG_URL.test(url)) throw new DatabaseRefused("RELAY_DATABASE_URL must be a postgres:// or postgresql:// URL");
  return url;
}

/** PostgreSQL when RELAY_DATABASE_URL is set, else the SQLite file in RELAY_DATA_DIR. */
export function configuredDatabase(config: Config): Target {
  const url = databaseUrl(config);
  if (url) return { dialect: "postgres", url, label: redactUrl(url) };
  return { dialect: "sqlite", path: config.dbPath, dataDir: config.RELAY_DATA_DIR, label: config.dbPath };
}

/** The URL without its password, for output. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://…";
  }
}

export const dialectName = (d: Dialect) => (d === "sqlite" ? "SQLite" : "PostgreSQL");
