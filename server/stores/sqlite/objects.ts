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
    async settle(id, st) {
      const sqlite = db.$client;
      return sqlite.transaction((): { settled: boolean; refund: number } | "pending" => {
        const o = sqlite.query("SELECT account_id, prepaid, request_id, settled_at FROM objects WHERE id = ?").get(id) as { account_id: number; prepaid: number; request_id: string | null; settled_at: number | null } | null;
        if (!o || o.settled_at !== null) return { settled: false, refund: 0 };
        let charged = o.prepaid;
        if (o.request_id) {
          const c = sqlite.query("SELECT -amount AS c FROM ledger WHERE ref = ? AND kind = 'charge'").get(o.request_id) as { c: number } | null;
          if (c) charged = c.c;
          else if (sqlite.query("SELECT 1 FROM usage_log WHERE request_id = ?").get(o.request_id)) charged = 0;
          else return "pending";
        }
        const refund = Math.max(0, Math.min(o.prepaid, charged) - st.used);
        const now = Date.now();
        sqlite.query("UPDATE objects SET settled_at = ?, status = ?, updated_at = ? WHERE id = ?").run(now, st.status, now, id);
        if (refund > 0) {
          const after = sqlite.query("UPDATE accounts SET credits = credits + ? WHERE id = ? RETURNING credits").get(refund, o.account_id) as { credits: number } | null;
          if (after) {
            db.insert(ledger).values({
              at: now, accountId: o.account_id, userId: null, kind: "refund", amount: refund, balanceAfter: after.credits, ref: st.ref, keyId: null, actor: "relay", note: st.note,
            }).run();
          }
        }
        return { settled: true, refund };
      }).immediate();
    },
  };
}
