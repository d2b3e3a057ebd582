import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Integer credits per million tokens. A model without a row costs 0. */
export const prices = sqliteTable("prices", {
  model: text("model").primaryKey(),
  inputPerMTok: integer("input_per_mtok").notNull(),
  outputPerMTok: integer("output_per_mtok").notNull(),
  /** Prompt tokens read from the provider's cache (OpenAI cached_tokens, Anthropic cache reads); null: the input rate. */
  cachedInputPerMTok: integer("cached_input_per_mtok"),
  /** Prompt tokens written to the cache (Anthropic cache_creation_input_tokens); null: the input rate. */
  cacheWritePerMTok: integer("cache_write_per_mtok"),
  /** Credits per successful call, on top of the token rates: image, audio and video models that report no tokens. */
  perRequest: integer("per_request").notNull().default(0),
  /** Percent off every rate for work sent as a batch (POST /v1/batches): 0 to 100, default 50 (OpenAI's). */
  batchDiscount: integer("batch_discount").notNull().default(50),
  updatedAt: integer("updated_at").notNull(),
});

export type PriceRow = typeof prices.$inferSelect;
