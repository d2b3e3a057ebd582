import { desc, lt } from "drizzle-orm";
import { auditLog } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import { actorName } from "../../audit/audit";
import type { AuditEntry, AuditOf, AuditStore } from "../types";

/** A transaction handle, as `db.transaction` passes it. */
export type Tx = Parameters<Parameters<PgDb["transaction"]>[0]>[0];
/** The pool or a transaction: what the helpers below run their queries on. */
export type Q = PgDb | Tx;

/** Writes an audit row on the handle given: call it inside the transaction of the write it describes. */
export async function writeAudit(q: Q, e: AuditEntry): Promise<void> {
  const ip = typeof e.actor === "string" ? "" : e.actor.ip;
  await q.insert(auditLog).values({ at: Date.now(), actor: actorName(e.actor), action: e.action, target: e.target, detail: e.detail ?? {}, ip });
}

export function pgAudit(db: PgDb): AuditStore {
  return {
    async record(e) {
      await writeAudit(db, e);
    },
    async list({ limit, before }) {
      const q = db.select().from(auditLog);
      return (before ? q.where(lt(auditLog.id, before)) : q).orderBy(desc(auditLog.id)).limit(limit ?? 100);
    },
  };
}

/**
 * A write and its audit row in one transaction (READ COMMITTED: what must not go stale is locked by the
 * write itself, with `FOR UPDATE`, a conditional statement or a unique constraint). A write that found
 * nothing to change (it returns undefined or false) is not audited.
 */
export async function atomically<T>(db: PgDb, audit: AuditOf<T> | null, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    const out = await fn(tx);
    if (audit && out !== undefined && out !== false) await writeAudit(tx, typeof audit === "function" ? audit(out) : audit);
    return out;
  });
}
