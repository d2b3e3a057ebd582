import { and, asc, eq, isNotNull, isNull } from "drizzle-orm";
import { webhookDeliveries, webhooks, type WebhookRow } from "../../../db/schema";
import type { Db } from "../../../db/client";
import type { AuditOf, WebhookStore } from "../types";
import { atomically, writeAudit } from "./audit";

const scoped = (id: number, accountId: number | undefined) =>
  accountId === undefined ? eq(webhooks.id, id) : and(eq(webhooks.id, id), eq(webhooks.accountId, accountId));

export function sqliteWebhooks(db: Db): WebhookStore {
  const get = (id: number, accountId?: number) => (Number.isSafeInteger(id) ? db.select().from(webhooks).where(scoped(id, accountId)).get() : undefined);
  return {
    async create(values, seal, audit) {
      return atomically(db, audit, () => {
        const row = db.insert(webhooks).values({ ...values, secretCiphertext: "pending" }).returning().get();
        const secretCiphertext = seal(row.id);
        db.update(webhooks).set({ secretCiphertext }).where(eq(webhooks.id, row.id)).run();
        return { ...row, secretCiphertext };
      });
    },
    async get(id, accountId) {
      return get(id, accountId);
    },
    async list(accountId) {
      const q = db.select().from(webhooks);
      return (accountId === undefined ? q : q.where(eq(webhooks.accountId, accountId))).orderBy(asc(webhooks.id)).all();
    },
    async enabledOf(accountId) {
      return db.select().from(webhooks).where(and(eq(webhooks.accountId, accountId), eq(webhooks.enabled, true))).all();
    },
    async delete(id, accountId, audit) {
      return atomically(db, audit, () => {
        if (!get(id, accountId)) return false;
        db.delete(webhooks).where(eq(webhooks.id, id)).run();
        return true;
      });
    },
    async rotate(id, accountId, seal, previousUntil, audit) {
      // The audit entry is made only from a row written (atomically skips undefined).
      return atomically<WebhookRow | undefined>(db, audit as AuditOf<WebhookRow | undefined>, () => {
        const old = get(id, accountId);
        if (!old) return undefined;
        return db.update(webhooks)
          .set({ secretCiphertext: seal(id), previousSecretCiphertext: old.secretCiphertext, previousSecretUntil: previousUntil })
          .where(eq(webhooks.id, id)).returning().get();
      });
    },
    async watchingCredits() {
      return db.select().from(webhooks).where(and(eq(webhooks.enabled, true), isNotNull(webhooks.creditsBelow))).all();
    },
    async fireCreditsLow(webhookId, delivery) {
      return db.$client.transaction(() => {
        const fired = db.update(webhooks).set({ creditsArmed: false })
          .where(and(eq(webhooks.id, webhookId), eq(webhooks.creditsArmed, true))).returning({ id: webhooks.id }).all();
        if (fired.length === 0) return false;
        db.insert(webhookDeliveries).values(delivery).onConflictDoNothing().run();
        return true;
      }).immediate();
    },
    async rearmCreditsLow(webhookId) {
      return db.$client.transaction(() => db.update(webhooks).set({ creditsArmed: true })
        .where(and(eq(webhooks.id, webhookId), eq(webhooks.creditsArmed, false))).returning({ id: webhooks.id }).all().length > 0).immediate();
    },
    async noteAttempt(webhookId, ok, since) {
      return db.$client.transaction(() => {
        if (ok) db.update(webhooks).set({ failingSince: null }).where(eq(webhooks.id, webhookId)).run();
        else db.update(webhooks).set({ failingSince: since }).where(and(eq(webhooks.id, webhookId), isNull(webhooks.failingSince))).run();
        return db.select({ f: webhooks.failingSince }).from(webhooks).where(eq(webhooks.id, webhookId)).get()?.f ?? null;
      }).immediate();
    },
    async disable(webhookId, reason, audit) {
      db.$client.transaction(() => {
        db.update(webhooks).set({ enabled: false, disabledReason: reason }).where(eq(webhooks.id, webhookId)).run();
        db.update(webhookDeliveries).set({ status: "failed", lastError: `endpoint disabled: ${reason}`, leaseOwner: null, leaseUntil: null, updatedAt: Date.now() })
          .where(and(eq(webhookDeliveries.webhookId, webhookId), eq(webhookDeliveries.status, "pending"))).run();
        writeAudit(db, audit);
      }).immediate();
    },
  };
}
