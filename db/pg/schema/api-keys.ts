import { index, integer, pgTable, text } from "drizzle-orm/pg-core";
import { bool, createdAt, int64, jsonb } from "./columns";
import { users } from "./users";
import { accounts } from "./accounts";

/** Mirrors db/schema/api-keys.ts. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
    /** The account the key charges: its owner's personal account, or an org. */
    accountId: integer("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    /** `personal`, `member` (acts as its creator in an org) or `service` (acts as the org itself). */
    kind: text("kind", { enum: ["personal", "member", "service"] }).notNull().default("personal"),
    /** The owner of a personal key, the member behind a member key, whoever created a service key (null: the admin socket). */
    userId: integer("user_id").references(() => users.id, { onDelete: "cascade" }),
    /** The public id of keys issued in the first format (`<prefix><id>_<secret>`); null for other formats. */
    publicId: text("public_id").unique(),
    /** What is shown and logged of the key (its literal prefix and first random characters); null: derived from public_id. */
    prefix: text("prefix"),
    /** Hex SHA-256 of the whole key: how a key of any format is found, and compared in constant time. */
    hash: text("hash").notNull().unique(),
    /** Keyring ciphertext of the whole key, bound to this row by its AAD; null for write-once and hash-imported keys. */
    ciphertext: text("ciphertext"),
    label: text("label").notNull().default(""),
    enabled: bool("enabled").notNull().default(true),
    group: text("group", { enum: ["official", "special", "either"] }).notNull().default("either"),
    /** JSON array of CIDRs; empty = anywhere. */
    allowIps: jsonb("allow_ips").$type<string[]>().notNull().default([]),
    expiresAt: int64("expires_at"),
    /** JSON array of model names; null = every model. */
    models: jsonb("models").$type<string[] | null>(),
    spendLimit: int64("spend_limit"),
    rpm: int64("rpm"),
    tpm: int64("tpm"),
    /** Total credits charged through this key, kept in the same transaction as the ledger. */
    spent: int64("spent").notNull().default(0),
    scopes: jsonb("scopes").$type<string[]>().notNull().default(["full"]),
    createdAt: createdAt(),
    lastUsedAt: int64("last_used_at"),
    /** PostgreSQL only: credits the key's running requests hold (against spendLimit), across instances. */
    held: int64("held").notNull().default(0),
  },
  (t) => [index("api_keys_user_idx").on(t.userId), index("api_keys_account_idx").on(t.accountId)],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
