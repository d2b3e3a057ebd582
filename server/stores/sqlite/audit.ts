import { desc, lt } from "drizzle-orm";
import { auditLog } from "../../../db/schema";
import type { Db } from "../../../db/client";
import { actorName } from "../../audit/audit";
import type { AuditEntry, AuditOf, AuditStore } from "../types";

/** Writes an audit row on the connection given: call it inside the transaction of the write it describes. */
export function writeAudit(db: Db, e: AuditEntry): void {
  const ip = typeof e.actor === "string" ? "" : e.actor.ip;
  db.insert(auditLog).values({ at: Date.now(), actor: actorName(e.actor), action: e.action, target: e.target, detail: e.detail ?? {}, ip }).run();
}

export function sqliteAudit(db: Db): AuditStore {
  return {
    async record(e) {
      writeAudit(db, e);
    },
    async list({ limit, before }) {
      const q = db.select().from(auditLog);
      return (before ? q.where(lt(auditLog.id, before)) : q).orderBy(desc(auditLog.id)).limit(limit ?? 100).all();
    },
  };
}

/**
 * A write and its audit row in one IMMEDIATE transaction (the write lock first, so no read inside goes
 * stale). A write that found nothing to change (it returns undefined or false) is not audited.
 */
export function atomically<T>(db: Db, audit: AuditOf<T> | null, fn: () => T): T {
  return db.$client.transaction(() => {
    const out = fn();
    if (audit && out !== undefined && out !== false) writeAudit(db, typeof audit === "function" ? audit(out) : audit);
    return out;
  }).immediate();
}
