import { index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { bool, createdAt, int64, jsonb } from "./columns";
import { accounts } from "./accounts";

/** Webhook endpoints, with their encrypted secrets and the credits.low latch. Mirrors db/schema/webhooks.ts. */
export const webhooks = pgTable(
  "webhooks",
  {
    id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
    accountId: integer("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    events: jsonb("events").notNull().$type<string[]>(),
    secretCiphertext: text("secret_ciphertext").notNull(),
    previousSecretCiphertext: text("previous_secret_ciphertext"),
    previousSecretUntil: int64("previous_secret_until"),
    creditsBelow: int64("credits_below"),
    creditsArmed: bool("credits_armed").notNull().default(true),
    enabled: bool("enabled").notNull().default(true),
    disabledReason: text("disabled_reason"),
    /** The first failed attempt since the last delivered one; null while deliveries succeed. */
    failingSince: int64("failing_since"),
    createdAt: createdAt(),
  },
  (t) => [index("webhooks_account_idx").on(t.accountId)],
);

/** One event for one endpoint, with its lease. Mirrors db/schema/webhooks.ts. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: int64("id").primaryKey().generatedByDefaultAsIdentity(),
    eventId: text("event_id").notNull().unique(),
    webhookId: integer("webhook_id").notNull().references(() => webhooks.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    objectId: text("object_id").notNull(),
    payload: text("payload").notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed"] }).notNull().default("pending"),
    attempts: int64("attempts").notNull().default(0),
    nextAttemptAt: int64("next_attempt_at").notNull(),
    leaseOwner: text("lease_owner"),
    leaseUntil: int64("lease_until"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    updatedAt: int64("updated_at").notNull().$defaultFn(() => Date.now()),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event_unique").on(t.webhookId, t.type, t.objectId),
    index("webhook_deliveries_due_idx").on(t.status, t.nextAttemptAt),
  ],
);

/** Every attempt to send a delivery. Mirrors db/schema/webhooks.ts. */
export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: int64("id").primaryKey().generatedByDefaultAsIdentity(),
    deliveryId: int64("delivery_id").notNull().references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    at: int64("at").notNull(),
    status: integer("status"),
    error: text("error"),
    durationMs: int64("duration_ms").notNull(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.id)],
);

export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
