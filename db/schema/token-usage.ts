import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Settled tokens per account per UTC month (`YYYY-MM`), updated with each settlement. */
export const tokenUsage = sqliteTable(
  "token_usage",
  {
    accountId: integer("account_id").notNull(),
    month: text("month").notNull(),
    tokens: integer("tokens").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.month] })],
);
