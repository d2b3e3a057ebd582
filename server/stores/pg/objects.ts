import { and, asc, desc, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { accounts, ledger, objects } from "../../../db/pg/schema";
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
    async settle(id, status, refund) {
      if (!isInt4(id)) return false;
      return db.transaction(async (tx) => {
        const now = Date.now();
        // Conditional: of two instances (or a poller and a client's GET) seeing the end at once, one settles.
        const [won] = await tx.update(objects).set({ settledAt: now, status, updatedAt: now })
          .where(and(eq(objects.id, id), isNull(objects.settledAt))).returning({ accountId: objects.accountId });
        if (!won) return false;
        if (refund && refund.amount > 0) {
          const [after] = await tx.update(accounts).set({ credits: sql`${accounts.credits} + ${refund.amount}` })
            .where(eq(accounts.id, won.accountId)).returning({ credits: accounts.credits });
          if (after) {
            await tx.insert(ledger).values({
              at: now, accountId: won.accountId, userId: refund.userId, kind: "refund", amount: refund.amount, balanceAfter: after.credits,
              ref: refund.ref, keyId: refund.keyId, actor: "relay", note: refund.note,
            }).onConflictDoNothing({ target: ledger.ref });
          }
        }
        return true;
      });
    },
  };
}
