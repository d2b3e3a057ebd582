import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { bool, createdAt } from "./columns";
import { accounts } from "./accounts";

/**
 * Webhook endpoints an account registered (server/webhooks/). The signing secret is kept only encrypted
 * with the master key (AAD `webhook:<id>`); after a rotation the previous one still signs until
 * `previousSecretUntil`. `creditsArmed` is the credits.low latch: cleared when the event is queued, set
 * again once the balance is back at the threshold, so each fall below it sends one event.
 */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    accountId: integer("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    events: text("events", { mode: "json" }).notNull().$type<string[]>(),
    secretCiphertext: text("secret_ciphertext").notNull(),
    previousSecretCiphertext: text("previous_secret_ciphertext"),
    previousSecretUntil: integer("previous_secret_until"),
    creditsBelow: integer("credits_below"),
    creditsArmed: bool("credits_armed").notNull().default(true),
    enabled: bool("enabled").notNull().default(true),
    disabledReason: text("disabled_reason"),
    /** The first failed attempt since the last delivered one; null while deliveries succeed. */
    failingSince: integer("failing_since"),
    createdAt: createdAt(),
  },
  (t) => [index("webhooks_account_idx").on(t.accountId)],
);

/**
 * One event for one endpoint, queued durably and sent until delivered or given up. `eventId` is the
 * webhook-id header and the payload's id, the same on every retry; `payload` is the exact body signed.
 * (webhook, type, object) is unique, so queueing the same event twice queues it once. A sender holds a
 * lease (`leaseOwner` until `leaseUntil`) while it tries, so one instance at a time sends each delivery.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    eventId: text("event_id").notNull().unique(),
    webhookId: integer("webhook_id").notNull().references(() => webhooks.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    objectId: text("object_id").notNull(),
    payload: text("payload").notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed"] }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    leaseOwner: text("lease_owner"),
    leaseUntil: integer("lease_until"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull().$defaultFn(() => Date.now()),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event_unique").on(t.webhookId, t.type, t.objectId),
    index("webhook_deliveries_due_idx").on(t.status, t.nextAttemptAt),
  ],
);

/** Every attempt to send a delivery: when, the HTTP status or the error, and how long it took. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deliveryId: integer("delivery_id").notNull().references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    at: integer("at").notNull(),
    status: integer("status"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.id)],
);

export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
