import { and, asc, eq, isNotNull, isNull } from "drizzle-orm";
import { webhookDeliveries, webhooks, type WebhookRow } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import type { AuditOf, WebhookStore } from "../types";
import { atomically, writeAudit, type Q } from "./audit";
import { isInt4 } from "./errors";

const scoped = (id: number, accountId: number | undefined) =>
  accountId === undefined ? eq(webhooks.id, id) : and(eq(webhooks.id, id), eq(webhooks.accountId, accountId));

export function pgWebhooks(db: PgDb): WebhookStore {
  const get = async (q: Q, id: number, accountId?: number, lock = false) => {
    if (!isInt4(id) || (accountId !== undefined && !isInt4(accountId))) return undefined;
    const s = q.select().from(webhooks).where(scoped(id, accountId));
    return (await (lock ? s.for("update") : s))[0];
  };
  return {
    async create(values, seal, audit) {
      return atomically(db, audit, async (tx) => {
        const [row] = await tx.insert(webhooks).values({ ...values, secretCiphertext: "pending" }).returning();
        const secretCiphertext = seal(row!.id);
        await tx.update(webhooks).set({ secretCiphertext }).where(eq(webhooks.id, row!.id));
        return { ...row!, secretCiphertext };
      });
    },
    async get(id, accountId) {
      return get(db, id, accountId);
    },
    async list(accountId) {
      if (accountId !== undefined && !isInt4(accountId)) return [];
      const q = db.select().from(webhooks);
      return (accountId === undefined ? q : q.where(eq(webhooks.accountId, accountId))).orderBy(asc(webhooks.id));
    },
    async enabledOf(accountId) {
      if (!isInt4(accountId)) return [];
      return db.select().from(webhooks).where(and(eq(webhooks.accountId, accountId), eq(webhooks.enabled, true)));
    },
    async delete(id, accountId, audit) {
      return atomically(db, audit, async (tx) => {
        if (!(await get(tx, id, accountId))) return false;
        await tx.delete(webhooks).where(eq(webhooks.id, id));
        return true;
      });
    },
    async rotate(id, accountId, seal, previousUntil, audit) {
      // The audit entry is made only from a row written (atomically skips undefined).
      return atomically<WebhookRow | undefined>(db, audit as AuditOf<WebhookRow | undefined>, async (tx) => {
        // Locked: of two rotations at once, the second sees the first's secret as the one to keep.
        const old = await get(tx, id, accountId, true);
        if (!old) return undefined;
        const [row] = await tx.update(webhooks)
          .set({ secretCiphertext: seal(id), previousSecretCiphertext: old.secretCiphertext, previousSecretUntil: previousUntil })
          .where(eq(webhooks.id, id)).returning();
        return row;
      });
    },
    async watchingCredits() {
      return db.select().from(webhooks).where(and(eq(webhooks.enabled, true), isNotNull(webhooks.creditsBelow)));
    },
    async fireCreditsLow(webhookId, delivery) {
      if (!isInt4(webhookId)) return false;
      return db.transaction(async (tx) => {
        // Conditional: of instances seeing the same fall, one clears the latch and queues the event.
        const fired = await tx.update(webhooks).set({ creditsArmed: false })
          .where(and(eq(webhooks.id, webhookId), eq(webhooks.creditsArmed, true))).returning({ id: webhooks.id });
        if (fired.length === 0) return false;
        await tx.insert(webhookDeliveries).values(delivery).onConflictDoNothing();
        return true;
      });
    },
    async rearmCreditsLow(webhookId) {
      if (!isInt4(webhookId)) return false;
      return (await db.update(webhooks).set({ creditsArmed: true })
        .where(and(eq(webhooks.id, webhookId), eq(webhooks.creditsArmed, false))).returning({ id: webhooks.id })).length > 0;
    },
    async noteAttempt(webhookId, ok, since) {
      if (!isInt4(webhookId)) return null;
      if (ok) await db.update(webhooks).set({ failingSince: null }).where(eq(webhooks.id, webhookId));
      else await db.update(webhooks).set({ failingSince: since }).where(and(eq(webhooks.id, webhookId), isNull(webhooks.failingSince)));
      return (await db.select({ f: webhooks.failingSince }).from(webhooks).where(eq(webhooks.id, webhookId)))[0]?.f ?? null;
    },
    async disable(webhookId, reason, audit) {
      if (!isInt4(webhookId)) return;
      await db.transaction(async (tx) => {
        await tx.update(webhooks).set({ enabled: false, disabledReason: reason }).where(eq(webhooks.id, webhookId));
        await tx.update(webhookDeliveries).set({ status: "failed", lastError: `endpoint disabled: ${reason}`, leaseOwner: null, leaseUntil: null, updatedAt: Date.now() })
          .where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.status, "pending")));
        await writeAudit(tx, audit);
      });
    },
  };
}
