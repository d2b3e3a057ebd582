import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Integer credits per million tokens. A model without a row costs 0. */
export const prices = sqliteTable("prices", {
  model: text("model").primaryKey(),
  inputPerMTok: integer("input_per_mtok").notNull(),
  outputPerMTok: integer("output_per_mtok").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export type PriceRow = typeof prices.$inferSelect;
