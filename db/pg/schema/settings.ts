import { pgTable, text } from "drizzle-orm/pg-core";

/** Small key/value state, e.g. the id of the current master key. Mirrors db/schema/settings.ts. */
export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
