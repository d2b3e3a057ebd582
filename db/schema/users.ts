import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { bool, createdAt } from "./columns";

export const users = sqliteTable("users", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  enabled: bool("enabled").notNull().default(true),
  role: text("role", { enum: ["admin", "user"] }).notNull().default("user"),
  /** In-flight requests across all of the user's keys. @default 3 */
  concurrency: integer("concurrency").notNull().default(3),
  /** Input + output tokens per UTC calendar month; 0 = unlimited. */
  monthlyTokens: integer("monthly_tokens").notNull().default(0),
  /** Credit balance; always equals the sum of the user's ledger rows. */
  credits: integer("credits").notNull().default(0),
  /** argon2id hash from Bun.password; null = no password login. */
  passwordHash: text("password_hash"),
  createdAt: createdAt(),
});

export type UserRow = typeof users.$inferSelect;
