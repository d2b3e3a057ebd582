import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt } from "./columns";
import { accounts } from "./accounts";

/**
 * Every object an upstream created for a client (a stored response, a file, a batch, …): which channel holds
 * it, so follow-ups go there and nowhere else, and which account owns it, so no other account can reach it.
 * Clients see the upstream's id as it is; (kind, upstream_id, channel_id) is unique. The key that created it
 * is kept for the record only: objects belong to the account, and outlive the key.
 */
export const objects = sqliteTable(
  "objects",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind").notNull(),
    upstreamId: text("upstream_id").notNull(),
    /** No foreign key: a deleted channel leaves its objects behind, answered 409 object_channel_unavailable. */
    channelId: integer("channel_id").notNull(),
    accountId: integer("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    keyId: integer("key_id"),
    status: text("status"),
    /** The upstream's object as last seen (JSON), for lists relay answers itself. */
    meta: text("meta", { mode: "json" }).$type<Record<string, unknown> | null>(),
    /**
     * Relay's own notes on the object, never shown to clients: for a batch input file, what its lines may
     * use at most (server/objects/batch-plan.ts), read when a batch is created from it.
     */
    plan: text("plan", { mode: "json" }).$type<Record<string, unknown> | null>(),
    /**
     * Credits charged at submit for work that finishes later (a background response: its whole hold), not yet
     * settled: when the object ends, what it did not use is refunded, once (settledAt).
     */
    prepaid: integer("prepaid").notNull().default(0),
    /** The model it runs on (its price settles it). */
    model: text("model"),
    /** The request that prepaid it: a refund never exceeds what that request's charge committed. */
    requestId: text("request_id"),
    /** What it used when it ended (credits, capped at what it prepaid; tokens, counted in the month's quota then). */
    usedCredits: integer("used_credits"),
    usedTokens: integer("used_tokens"),
    settledAt: integer("settled_at"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull().$defaultFn(() => Date.now()),
  },
  (t) => [
    uniqueIndex("objects_kind_upstream_unique").on(t.kind, t.upstreamId, t.channelId),
    index("objects_account_kind_idx").on(t.accountId, t.kind, t.id),
    index("objects_request_idx").on(t.requestId),
  ],
);

export type ObjectRow = typeof objects.$inferSelect;
