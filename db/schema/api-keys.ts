import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { bool, createdAt } from "./columns";
import { users } from "./users";

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    /** The 8-character public id that follows the prefix; used for lookup. */
    publicId: text("public_id").notNull().unique(),
    /** Hex SHA-256 of the whole key, compared in constant time. */
    hash: text("hash").notNull(),
    /** Keyring ciphertext of the whole key, bound to this row by its AAD. */
    ciphertext: text("ciphertext").notNull(),
    label: text("label").notNull().default(""),
    enabled: bool("enabled").notNull().default(true),
    group: text("group", { enum: ["official", "special", "either"] }).notNull().default("either"),
    /** JSON array of CIDRs; empty = anywhere. */
    allowIps: text("allow_ips", { mode: "json" }).$type<string[]>().notNull().default([]),
    expiresAt: integer("expires_at"),
    /** JSON array of model names; null = every model. */
    models: text("models", { mode: "json" }).$type<string[] | null>(),
    spendLimit: integer("spend_limit"),
    /** Total credits charged through this key, kept in the same transaction as the ledger. */
    spent: integer("spent").notNull().default(0),
    scopes: text("scopes", { mode: "json" }).$type<string[]>().notNull().default(["full"]),
    createdAt: createdAt(),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [index("api_keys_user_idx").on(t.userId)],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
