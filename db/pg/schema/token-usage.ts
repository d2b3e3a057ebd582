import { integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { int64 } from "./columns";

/** Settled tokens per account per UTC month (`YYYY-MM`), updated with each settlement. Mirrors db/schema/token-usage.ts. */
export const tokenUsage = pgTable(
  "token_usage",
  {
    accountId: integer("account_id").notNull(),
    month: text("month").notNull(),
    tokens: int64("tokens").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.month] })],
);
