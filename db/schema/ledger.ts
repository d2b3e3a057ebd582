import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Append-only credit ledger. A user's `credits` always equals the sum of `amount` over their rows.
 * `ref` makes every change idempotent: a request id for charges, an admin-supplied or generated id for grants.
 */
export const ledger = sqliteTable(
  "ledger",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    userId: integer("user_id").notNull(),
    kind: text("kind", { enum: ["grant", "charge", "refund", "adjust"] }).notNull(),
    amount: integer("amount").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    ref: text("ref").notNull().unique(),
    keyId: integer("key_id"),
    actor: text("actor").notNull().default(""),
    note: text("note").notNull().default(""),
  },
  (t) => [index("ledger_user_idx").on(t.userId, t.id)],
);

export type LedgerRow = typeof ledger.$inferSelect;
