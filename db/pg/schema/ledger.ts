import { index, integer, pgTable, text } from "drizzle-orm/pg-core";
import { int64 } from "./columns";

/**
 * Append-only credit ledger. An account's `credits` always equals the sum of `amount` over its rows.
 * `ref` makes every change idempotent: a request id for charges, an admin-supplied or generated id for grants.
 * Mirrors db/schema/ledger.ts.
 */
export const ledger = pgTable(
  "ledger",
  {
    id: int64("id").primaryKey().generatedByDefaultAsIdentity(),
    at: int64("at").notNull(),
    /** Whose balance moved. */
    accountId: integer("account_id").notNull(),
    /** The user behind it (a charge's member or key owner), when there is one. */
    userId: integer("user_id"),
    kind: text("kind", { enum: ["grant", "charge", "refund", "adjust"] }).notNull(),
    amount: int64("amount").notNull(),
    balanceAfter: int64("balance_after").notNull(),
    ref: text("ref").notNull().unique(),
    keyId: integer("key_id"),
    actor: text("actor").notNull().default(""),
    note: text("note").notNull().default(""),
  },
  (t) => [index("ledger_account_idx").on(t.accountId, t.id)],
);

export type LedgerRow = typeof ledger.$inferSelect;
