import { and, asc, desc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { webhookAttempts, webhookDeliveries as d, webhooks } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import type { DeliveryStore } from "../types";
import { isInt4 } from "./errors";

export function pgDeliveries(db: PgDb): DeliveryStore {
  return {
    async enqueue(rows) {
      if (rows.length === 0) return 0;
      return (await db.insert(d).values(rows).onConflictDoNothing().returning({ id: d.id })).length;
    },
    async claim(owner, now, leaseMs, limit) {
      const free = and(eq(d.status, "pending"), lte(d.nextAttemptAt, now), or(isNull(d.leaseUntil), lte(d.leaseUntil, now)));
      // Rows another instance is claiming right now are skipped, not waited for; the outer conditions are
      // checked again on each row updated, so a lease is taken only where it ran out.
      const due = db.select({ id: d.id }).from(d).where(free).orderBy(asc(d.nextAttemptAt)).limit(limit).for("update", { skipLocked: true });
      return db.update(d).set({ leaseOwner: owner, leaseUntil: now + leaseMs }).where(and(inArray(d.id, due), free)).returning();
    },
    async recordAttempt(id, owner, attempt, next) {
      return db.transaction(async (tx) => {
        await tx.insert(webhookAttempts).values({ deliveryId: id, ...attempt });
        const moved = await tx.update(d).set({
          status: next.status, nextAttemptAt: next.nextAttemptAt, attempts: sql`${d.attempts} + 1`,
          lastStatus: attempt.status, lastError: attempt.error, leaseOwner: null, leaseUntil: null, updatedAt: Date.now(),
        }).where(and(eq(d.id, id), eq(d.leaseOwner, owner), eq(d.status, "pending"))).returning({ id: d.id });
        return moved.length > 0;
      });
    },
    async list({ webhookId, accountId, limit }) {
      if ((webhookId !== undefined && !isInt4(webhookId)) || (accountId !== undefined && !isInt4(accountId))) return [];
      const where = and(webhookId === undefined ? undefined : eq(d.webhookId, webhookId), accountId === undefined ? undefined : eq(webhooks.accountId, accountId));
      const rows = await db.select({ d, url: webhooks.url, accountId: webhooks.accountId }).from(d).innerJoin(webhooks, eq(webhooks.id, d.webhookId))
        .where(where).orderBy(desc(d.id)).limit(limit);
      return rows.map((r) => ({ ...r.d, url: r.url, accountId: r.accountId }));
    },
    async attempts(deliveryId) {
      return db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, deliveryId)).orderBy(asc(webhookAttempts.id));
    },
  };
}
