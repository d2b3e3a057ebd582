import { and, asc, desc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { webhookAttempts, webhookDeliveries as d, webhooks } from "../../../db/schema";
import type { Db } from "../../../db/client";
import type { DeliveryStore } from "../types";

/**
 * Every write is an IMMEDIATE transaction, as the main process's writes are: the settlement writer's thread
 * commits every few milliseconds, and a deferred write on a snapshot it moved past would fail (busy_snapshot).
 */
const immediate = <T>(db: Db, fn: () => T): T => db.$client.transaction(fn).immediate();

export function sqliteDeliveries(db: Db): DeliveryStore {
  return {
    async enqueue(rows) {
      if (rows.length === 0) return 0;
      return immediate(db, () => db.insert(d).values(rows).onConflictDoNothing().returning({ id: d.id }).all().length);
    },
    async claim(owner, now, leaseMs, limit) {
      const free = and(eq(d.status, "pending"), lte(d.nextAttemptAt, now), or(isNull(d.leaseUntil), lte(d.leaseUntil, now)));
      const due = db.select({ id: d.id }).from(d).where(free).orderBy(asc(d.nextAttemptAt)).limit(limit);
      // One statement: the conditions are checked again on the rows it updates.
      return immediate(db, () => db.update(d).set({ leaseOwner: owner, leaseUntil: now + leaseMs }).where(and(inArray(d.id, due), free)).returning().all());
    },
    async recordAttempt(id, owner, attempt, next) {
      return immediate(db, () => {
        db.insert(webhookAttempts).values({ deliveryId: id, ...attempt }).run();
        return db.update(d).set({
          status: next.status, nextAttemptAt: next.nextAttemptAt, attempts: sql`${d.attempts} + 1`,
          lastStatus: attempt.status, lastError: attempt.error, leaseOwner: null, leaseUntil: null, updatedAt: Date.now(),
        }).where(and(eq(d.id, id), eq(d.leaseOwner, owner), eq(d.status, "pending"))).returning({ id: d.id }).all().length > 0;
      });
    },
    async list({ webhookId, accountId, limit }) {
      const where = and(webhookId === undefined ? undefined : eq(d.webhookId, webhookId), accountId === undefined ? undefined : eq(webhooks.accountId, accountId));
      const rows = db.select({ d, url: webhooks.url, accountId: webhooks.accountId }).from(d).innerJoin(webhooks, eq(webhooks.id, d.webhookId))
        .where(where).orderBy(desc(d.id)).limit(limit).all();
      return rows.map((r) => ({ ...r.d, url: r.url, accountId: r.accountId }));
    },
    async attempts(deliveryId) {
      return db.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, deliveryId)).orderBy(asc(webhookAttempts.id)).all();
    },
  };
}
