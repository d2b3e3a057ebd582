import { and, asc, desc, eq, gt, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { accounts, apiKeys, ledger, memberSpend, objects, tokenUsage, usageLog } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import type { ObjectSettled, ObjectStore } from "../types";
import { RUNNING_STATUSES } from "../../objects/kinds";
import { utcMonth } from "../../limits/month";
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
    async prepaidBy(requestIds) {
      if (requestIds.length === 0) return [];
      const rows = await db.select({ requestId: objects.requestId, kind: objects.kind, upstreamId: objects.upstreamId }).from(objects).where(inArray(objects.requestId, requestIds));
      return rows.filter((r): r is { requestId: string; kind: string; upstreamId: string } => r.requestId !== null);
    },
    async unsettled(limit) {
      return db.select().from(objects)
        .where(and(isNull(objects.settledAt), or(gt(objects.prepaid, 0), inArray(objects.status, [...RUNNING_STATUSES]))))
        .orderBy(asc(objects.id)).limit(limit);
    },
    async settle(id, st) {
      const none: ObjectSettled = { settled: false, refund: 0, keyId: null, memberUserId: null };
      if (!isInt4(id)) return none;
      return db.transaction(async (tx): Promise<ObjectSettled | "pending"> => {
        // Locked, so of two instances (or a poller and a client's GET) seeing the end at once, one settles.
        const [o] = await tx.select().from(objects).where(eq(objects.id, id)).for("update");
        if (!o || o.settledAt !== null) return none;
        let charged = o.prepaid;
        let paidBy: { userId: number | null; orgId: number | null; at: number } | undefined;
        if (o.requestId) {
          [paidBy] = await tx.select({ userId: usageLog.userId, orgId: usageLog.orgId, at: usageLog.at }).from(usageLog).where(eq(usageLog.requestId, o.requestId));
          if (!paidBy) return "pending";
          const [c] = await tx.select({ amount: ledger.amount }).from(ledger).where(and(eq(ledger.ref, o.requestId), eq(ledger.kind, "charge")));
          charged = c ? -c.amount : 0;
        }
        const refund = Math.max(0, Math.min(o.prepaid, charged) - st.used);
        const now = Date.now();
        await tx.update(objects).set({ settledAt: now, status: st.status, usedCredits: st.used, usedTokens: st.tokens, updatedAt: now }).where(eq(objects.id, id));
        if (st.tokens > 0) {
          await tx.insert(tokenUsage).values({ accountId: o.accountId, month: utcMonth(now), tokens: st.tokens })
            .onConflictDoUpdate({ target: [tokenUsage.accountId, tokenUsage.month], set: { tokens: sql`${tokenUsage.tokens} + ${st.tokens}` } });
        }
        const memberUserId = paidBy?.orgId != null && paidBy.userId !== null ? paidBy.userId : null;
        if (refund > 0) {
          const [after] = await tx.update(accounts).set({ credits: sql`${accounts.credits} + ${refund}` })
            .where(eq(accounts.id, o.accountId)).returning({ credits: accounts.credits });
          if (after) {
            await tx.insert(ledger).values({
              at: now, accountId: o.accountId, userId: paidBy?.userId ?? null, kind: "refund", amount: refund, balanceAfter: after.credits, ref: st.ref, keyId: o.keyId, actor: "relay", note: st.note,
            });
          }
          // The spend it counted against the key's limit and the member's monthly cap is given back too.
          if (o.keyId !== null) await tx.update(apiKeys).set({ spent: sql`GREATEST(0, ${apiKeys.spent} - ${refund})` }).where(eq(apiKeys.id, o.keyId));
          if (memberUserId !== null) {
            await tx.update(memberSpend).set({ credits: sql`GREATEST(0, ${memberSpend.credits} - ${refund})` })
              .where(and(eq(memberSpend.accountId, o.accountId), eq(memberSpend.userId, memberUserId), eq(memberSpend.month, utcMonth(paidBy!.at))));
          }
        }
        return { settled: true, refund, keyId: o.keyId, memberUserId };
      });
    },
  };
}
