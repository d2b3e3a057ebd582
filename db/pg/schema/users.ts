import { integer, pgTable, text } from "drizzle-orm/pg-core";
import { bool, createdAt } from "./columns";
import { accounts } from "./accounts";

/** Mirrors db/schema/users.ts. */
export const users = pgTable("users", {
  id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
  name: text("name").notNull().unique(),
  enabled: bool("enabled").notNull().default(true),
  role: text("role", { enum: ["admin", "user"] }).notNull().default("user"),
  /**
   * The user's personal account: balance and limits of their own keys and sessions. NOT NULL as the
   * drizzle schema says; SQLite's column is nullable only because migration 0008 had to add it with
   * ALTER TABLE ADD.
   */
  accountId: integer("account_id").notNull().references(() => accounts.id),
  /** argon2id hash from Bun.password; null = no password login. */
  passwordHash: text("password_hash"),
  createdAt: createdAt(),
});

export type UserRow = typeof users.$inferSelect;
