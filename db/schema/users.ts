import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { bool, createdAt } from "./columns";
import { accounts } from "./accounts";

export const users = sqliteTable("users", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  enabled: bool("enabled").notNull().default(true),
  role: text("role", { enum: ["admin", "user"] }).notNull().default("user"),
  /** The user's personal account: balance and limits of their own keys and sessions. */
  accountId: integer("account_id").notNull().references(() => accounts.id),
  /** argon2id hash from Bun.password; null = no password login. */
  passwordHash: text("password_hash"),
  createdAt: createdAt(),
});

export type UserRow = typeof users.$inferSelect;
