import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Append-only credit ledger. An account's `credits` always equals the sum of `amount` over its rows.
 * `ref` makes every change idempotent: a request id for charges, an admin-supplied or generated id for grants.
 */
export const ledger = sqliteTable(
  "ledger",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    /** Whose balance moved. */
    accountId: integer("account_id").notNull(),
    /** The user behind it (a charge's member or key owner), when there is one. */
    userId: integer("user_id"),
    kind: text("kind", { enum: ["grant", "charge", "refund", "adjust"] }).notNull(),
    amount: integer("amount").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    ref: text("ref").notNull().unique(),
    keyId: integer("key_id"),
    actor: text("actor").notNull().default(""),
    note: text("note").notNull().default(""),
  },
  (t) => [index("ledger_account_idx").on(t.accountId, t.id)],
);

export type LedgerRow = typeof ledger.$inferSelect;
