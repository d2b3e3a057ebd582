import type { SQL } from "bun";
import type { RecoveryTarget } from "../usage/journal";
import { commitPgOrSplit } from "../usage/pg-settlement";
import type { Settlement } from "../usage/settlement";

/** Journal recovery into PostgreSQL: which requests are already logged, and the same idempotent commit as the writer's. */
export function pgRecoveryTarget(sql: SQL, afterCommit: (batch: Settlement[]) => Promise<void> = async () => {}): RecoveryTarget {
  return {
    async known(ids) {
      const out = new Set<string>();
      for (let i = 0; i < ids.length; i += 1000) {
        const rows = await sql.unsafe(`SELECT request_id FROM usage_log WHERE request_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))`, [JSON.stringify(ids.slice(i, i + 1000))]);
        for (const r of rows) out.add(String(r.request_id));
      }
      return out;
    },
    async commit(batch) {
      const { dropped } = await commitPgOrSplit(sql, batch);
      await afterCommit(batch);
      return dropped;
    },
  };
}
