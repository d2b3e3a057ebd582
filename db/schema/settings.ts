import { sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Small key/value state, e.g. the id of the current master key. */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
