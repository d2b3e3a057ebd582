import { and, asc, desc, eq, gt, isNull, lt } from "drizzle-orm";
import { ledger, objects } from "../../../db/schema";
import type { Db } from "../../../db/client";
import type { ObjectStore } from "../types";

export function sqliteObjects(db: Db): ObjectStore {
  return {
    async record(o) {
      const now = Date.now();
      return db.insert(objects).values({ ...o, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [objects.kind, objects.upstreamId, objects.channelId], set: { status: o.status, meta: o.meta, updatedAt: now } })
        .returning().get();
    },
    async find(kind, upstreamId, accountId) {
      return db.select().from(objects)
        .where(and(eq(objects.kind, kind), eq(objects.upstreamId, upstreamId), eq(objects.accountId, accountId)))
        .orderBy(desc(objects.id)).get();
    },
    async list(kind, accountId, { limit, before }) {
      const where = before === undefined
        ? and(eq(objects.accountId, accountId), eq(objects.kind, kind))
        : and(eq(objects.accountId, accountId), eq(objects.kind, kind), lt(objects.id, before));
      return db.select().from(objects).where(where).orderBy(desc(objects.id)).limit(limit).all();
    },
    async update(id, fields) {
      db.update(objects).set({ ...fields, updatedAt: Date.now() }).where(eq(objects.id, id)).run();
    },
    async remove(id) {
      db.delete(objects).where(eq(objects.id, id)).run();
    },
    async unsettled(limit) {
      return db.select().from(objects).where(and(gt(objects.prepaid, 0), isNull(objects.settledAt))).orderBy(asc(objects.id)).limit(limit).all();
    },
    async settle(id, status, refund) {
      const sqlite = db.$client;
      return sqlite.transaction(() => {
        const now = Date.now();
        const won = sqlite.query("UPDATE objects SET settled_at = ?, status = ?, updated_at = ? WHERE id = ? AND settled_at IS NULL RETURNING account_id").get(now, status, now, id) as { account_id: number } | null;
        if (!won) return false;
        if (refund && refund.amount > 0) {
          const after = sqlite.query("UPDATE accounts SET credits = credits + ? WHERE id = ? RETURNING credits").get(refund.amount, won.account_id) as { credits: number } | null;
          if (after) {
            db.insert(ledger).values({
              at: now, accountId: won.account_id, userId: refund.userId, kind: "refund", amount: refund.amount, balanceAfter: after.credits,
              ref: refund.ref, keyId: refund.keyId, actor: "relay", note: refund.note,
            }).onConflictDoNothing({ target: ledger.ref }).run();
          }
        }
        return true;
      }).immediate();
    },
  };
}
