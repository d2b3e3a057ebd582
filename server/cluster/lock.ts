import type { SQL } from "bun";
import type { Mode } from "../config";

/** The advisory lock that tells single-instance PostgreSQL mode and cluster instances apart (migrations use another). */
const INSTANCE_LOCK = 7_265_881_001;

/**
 * Claims the database for this instance for as long as it runs, on a connection of its own: exclusively
 * in PostgreSQL mode (one instance, no Redis to share slots through), shared in cluster mode. So a second
 * single instance is refused, and so is a cluster instance next to a single one (or the reverse), each
 * with what to do. Returns the release.
 */
export async function claimDatabase(sql: SQL, mode: Exclude<Mode, "embedded">): Promise<() => Promise<void>> {
  const conn = await sql.reserve();
  const fn = mode === "postgres" ? "pg_try_advisory_lock" : "pg_try_advisory_lock_shared";
  try {
    const [r] = await conn.unsafe(`SELECT ${fn}(${INSTANCE_LOCK}) AS ok`);
    if (!r.ok) {
      throw new Error(mode === "postgres"
        ? "another relay already runs on this database; to run several instances, give every one RELAY_REDIS_URL as well (cluster mode)"
        : "a single-instance relay (RELAY_DATABASE_URL without RELAY_REDIS_URL) runs on this database; stop it, or restart it with RELAY_REDIS_URL");
    }
  } catch (err) {
    conn.release();
    throw err;
  }
  return async () => {
    const unlock = mode === "postgres" ? "pg_advisory_unlock" : "pg_advisory_unlock_shared";
    await conn.unsafe(`SELECT ${unlock}(${INSTANCE_LOCK})`).catch(() => {});
    conn.release();
  };
}
