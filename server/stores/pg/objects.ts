import { and, asc, desc, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { accounts, ledger, objects, usageLog } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import type { ObjectStore } from "../types";
import { isInt4 } from "./errors";

export function pgObjects(db: PgDb): ObjectStore {
  return {
    async record(o) {
      const now = Date.now();
      const [row] = await db.insert(objects).values({ ...o, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [objects.kind, objects.upstreamId, objects.channelId], set: { status: o.status, meta: o.meta, updatedAt: now } })
        .returning();
      return row!;
    },
    async find(kind, upstreamId, accountId) {
      if (!isInt4(accountId)) return undefined;
      const [row] = await db.select().from(objects)
        .where(and(eq(objects.kind, kind), eq(objects.upstreamId, upstreamId), eq(objects.accountId, accountId)))
        .orderBy(desc(objects.id)).limit(1);
      return row;
    },
    async list(kind, accountId, { limit, before }) {
      if (!isInt4(accountId)) return [];
      const where = before === undefined
        ? and(eq(objects.accountId, accountId), eq(objects.kind, kind))
        : and(eq(objects.accountId, accountId), eq(objects.kind, kind), lt(objects.id, before));
      return db.select().from(objects).where(where).orderBy(desc(objects.id)).limit(limit);
    },
    async update(id, fields) {
      if (!isInt4(id)) return;
      await db.update(objects).set({ ...fields, updatedAt: Date.now() }).where(eq(objects.id, id));
    },
    async remove(id) {
      if (!isInt4(id)) return;
      await db.delete(objects).where(eq(objects.id, id));
    },
    async unsettled(limit) {
      return db.select().from(objects).where(and(gt(objects.prepaid, 0), isNull(objects.settledAt))).orderBy(asc(objects.id)).limit(limit);
    },
    async settle(id, st) {
      if (!isInt4(id)) return { settled: false, refund: 0 };
      return db.transaction(async (tx) => {
        // Locked, so of two instances (or a poller and a client's GET) seeing the end at once, one settles.
        const [o] = await tx.select().from(objects).where(eq(objects.id, id)).for("update");
        if (!o || o.settledAt !== null) return { settled: false, refund: 0 };
        let charged = o.prepaid;
        if (o.requestId) {
          const [c] = await tx.select({ amount: ledger.amount }).from(ledger).where(and(eq(ledger.ref, o.requestId), eq(ledger.kind, "charge")));
          if (c) charged = -c.amount;
          else if ((await tx.select({ id: usageLog.id }).from(usageLog).where(eq(usageLog.requestId, o.requestId))).length > 0) charged = 0;
          else return "pending" as const;
        }
        const refund = Math.max(0, Math.min(o.prepaid, charged) - st.used);
        const now = Date.now();
        await tx.update(objects).set({ settledAt: now, status: st.status, updatedAt: now }).where(eq(objects.id, id));
        if (refund > 0) {
          const [after] = await tx.update(accounts).set({ credits: sql`${accounts.credits} + ${refund}` })
            .where(eq(accounts.id, o.accountId)).returning({ credits: accounts.credits });
          if (after) {
            await tx.insert(ledger).values({
              at: now, accountId: o.accountId, userId: null, kind: "refund", amount: refund, balanceAfter: after.credits, ref: st.ref, keyId: null, actor: "relay", note: st.note,
            });
          }
        }
        return { settled: true, refund };
      });
    },
  };
}
