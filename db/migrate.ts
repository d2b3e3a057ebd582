import type { Database } from "bun:sqlite";
import { migrations } from "./migrations";

/**
 * Applies the embedded migrations that this database has not seen, each in its own transaction.
 * Our own tracking table keeps this independent of files on disk, so the compiled binary migrates too.
 */
export function applyMigrations(sqlite: Database): string[] {
  sqlite.run(`CREATE TABLE IF NOT EXISTS __relay_migrations (tag TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`);
  const done = new Set(
    sqlite.query<{ tag: string }, []>("SELECT tag FROM __relay_migrations").all().map((r) => r.tag),
  );
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.tag)) continue;
    const statements = m.sql.split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean);
    sqlite.transaction(() => {
      for (const s of statements) sqlite.run(s);
      sqlite.run("INSERT INTO __relay_migrations (tag, applied_at) VALUES (?, ?)", [m.tag, Date.now()]);
    }).immediate();
    applied.push(m.tag);
  }
  return applied;
}
