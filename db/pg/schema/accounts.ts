import { check, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { sql } from "drizzle-orm";
import { bool, createdAt, int64, jsonb } from "./columns";

/**
 * Who pays: a user's personal account, or an organization (an account with members). Balance, ledger,
 * monthly token quota, concurrency cap and rate limits belong here, never to a user or a key.
 * Mirrors db/schema/accounts.ts.
 */
export const accounts = pgTable(
  "accounts",
  {
    id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
    kind: text("kind", { enum: ["user", "org"] }).notNull(),
    /** The user's name for a personal account; the org's name. Unique per kind. */
    name: text("name").notNull(),
    /** Credit balance; always equals the sum of the account's ledger rows, and never below zero. */
    credits: int64("credits").notNull().default(0),
    /** Requests in flight across all of the account's keys. @default 3 */
    concurrency: int64("concurrency").notNull().default(3),
    /** Input + output tokens per UTC calendar month; 0 = unlimited. */
    monthlyTokens: int64("monthly_tokens").notNull().default(0),
    /** Requests per minute across the account; null = no limit. */
    rpm: int64("rpm"),
    /** Input + output tokens per minute across the account; null = no limit. */
    tpm: int64("tpm"),
    /** A suspended org's keys are refused with 403 org_suspended. */
    suspended: bool("suspended").notNull().default(false),
    /** Models the account may use (orgs); null = every model. */
    models: jsonb("models").$type<string[] | null>(),
    /** Whether the account's keys can be revealed later: null = RELAY_KEY_REVEAL. */
    keyReveal: text("key_reveal", { enum: ["always", "never"] }),
    createdAt: createdAt(),
    /**
     * PostgreSQL only (cluster mode): the credits and monthly tokens that running requests hold, across every
     * instance; the sum of the account's rows in \`holds\`. Admission reserves here with a conditional update,
     * so balance minus held can never go negative (the CHECK below says so too).
     */
    held: int64("held").notNull().default(0),
    heldTokens: int64("held_tokens").notNull().default(0),
  },
  (t) => [
    uniqueIndex("accounts_kind_name_unique").on(t.kind, t.name),
    check("accounts_credits_non_negative", sql`${t.credits} >= 0`),
    check("accounts_held_within_balance", sql`${t.held} >= 0 AND ${t.heldTokens} >= 0 AND ${t.credits} - ${t.held} >= 0`),
  ],
);

export type AccountRow = typeof accounts.$inferSelect;
