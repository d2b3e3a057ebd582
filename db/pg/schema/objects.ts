import { index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, int64, jsonb } from "./columns";
import { accounts } from "./accounts";

/** Upstream objects with their channel and owning account. Mirrors db/schema/objects.ts. */
export const objects = pgTable(
  "objects",
  {
    id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
    kind: text("kind").notNull(),
    upstreamId: text("upstream_id").notNull(),
    channelId: integer("channel_id").notNull(),
    accountId: integer("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    keyId: integer("key_id"),
    status: text("status"),
    meta: jsonb("meta").$type<Record<string, unknown> | null>(),
    /**
     * Relay's own notes on the object, never shown to clients: for a batch input file, what its lines may
     * use at most (server/objects/batch-plan.ts), read when a batch is created from it.
     */
    plan: jsonb("plan").$type<Record<string, unknown> | null>(),
    /**
     * Credits charged at submit for work that finishes later (a background response: its whole hold), not yet
     * settled: when the object ends, what it did not use is refunded, once (settledAt).
     */
    prepaid: int64("prepaid").notNull().default(0),
    /** The model it runs on (its price settles it). */
    model: text("model"),
    /** The request that prepaid it: a refund never exceeds what that request's charge committed. */
    requestId: text("request_id"),
    /** What it used when it ended (credits, capped at what it prepaid; tokens, counted in the month's quota then). */
    usedCredits: int64("used_credits"),
    usedTokens: int64("used_tokens"),
    settledAt: int64("settled_at"),
    createdAt: createdAt(),
    updatedAt: int64("updated_at").notNull().$defaultFn(() => Date.now()),
  },
  (t) => [
    uniqueIndex("objects_kind_upstream_unique").on(t.kind, t.upstreamId, t.channelId),
    index("objects_account_kind_idx").on(t.accountId, t.kind, t.id),
    index("objects_request_idx").on(t.requestId),
  ],
);

export type ObjectRow = typeof objects.$inferSelect;
