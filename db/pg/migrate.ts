import type { SQL } from "bun";
import { migrations } from "./migrations";

/**
 * The key of the session-level advisory lock held while migrating ("relay-mg" as a big-endian int8).
 * Advisory locks are per database, so instances of different clusters never wait on each other.
 */
export const PG_MIGRATION_LOCK = "8243113858872208743";

/**
 * Applies the embedded PostgreSQL migrations that this database has not seen, each in its own
 * transaction; the counterpart of db/migrate.ts, with the same bookkeeping (a `__relay_migrations`
 * table of tags and the time each was applied, independent of files on disk, so the compiled binary
 * migrates too). Several instances may start at once: each takes `pg_advisory_lock` on one reserved
 * connection first, so one migrates while the others wait, and they then find nothing left to do.
 * The lock is released in `finally`; should the unlock itself fail, the connection is closed rather
 * than returned to the pool, which ends the session and so its lock.
 */
export async function applyPgMigrations(sql: SQL): Promise<{ applied: string[] }> {
  const conn = await sql.reserve();
  let healthy = false;
  try {
    await conn.unsafe(`SELECT pg_advisory_lock(${PG_MIGRATION_LOCK})`);
    try {
      await conn.unsafe(`CREATE TABLE IF NOT EXISTS __relay_migrations (tag text PRIMARY KEY, applied_at bigint NOT NULL)`);
      const rows: { tag: string }[] = await conn.unsafe(`SELECT tag FROM __relay_migrations`);
      const done = new Set(rows.map((r) => r.tag));
      const applied: string[] = [];
      for (const m of migrations) {
        if (done.has(m.tag)) continue;
        const statements = m.sql.split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean);
        await conn.begin(async (tx) => {
          // Without parameters each runs as a simple query, so plpgsql bodies with `;` in them are fine.
          for (const s of statements) await tx.unsafe(s);
          await tx.unsafe(`INSERT INTO __relay_migrations (tag, applied_at) VALUES ($1, $2)`, [m.tag, Date.now()]);
        });
        applied.push(m.tag);
      }
      return { applied };
    } finally {
      await conn.unsafe(`SELECT pg_advisory_unlock(${PG_MIGRATION_LOCK})`);
      healthy = true;
    }
  } finally {
    if (healthy) await conn.release();
    else await conn.close().catch(() => {});
  }
}
