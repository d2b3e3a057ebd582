import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Settled tokens per user per UTC month (`YYYY-MM`), updated with each settlement. */
export const tokenUsage = sqliteTable(
  "token_usage",
  {
    userId: integer("user_id").notNull(),
    month: text("month").notNull(),
    tokens: integer("tokens").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.userId, t.month] })],
);
