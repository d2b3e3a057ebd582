import { pgTable, text } from "drizzle-orm/pg-core";
import { int64 } from "./columns";

/** Integer credits per million tokens. A model without a row costs 0. Mirrors db/schema/prices.ts. */
export const prices = pgTable("prices", {
  model: text("model").primaryKey(),
  inputPerMTok: int64("input_per_mtok").notNull(),
  outputPerMTok: int64("output_per_mtok").notNull(),
  /** Prompt tokens read from the provider's cache (OpenAI cached_tokens, Anthropic cache reads); null: the input rate. */
  cachedInputPerMTok: int64("cached_input_per_mtok"),
  /** Prompt tokens written to the cache (Anthropic cache_creation_input_tokens); null: the input rate. */
  cacheWritePerMTok: int64("cache_write_per_mtok"),
  /** Credits per successful call, on top of the token rates: image, audio and video models that report no tokens. */
  perRequest: int64("per_request").notNull().default(0),
  /** Percent off every rate for work sent as a batch (POST /v1/batches): 0 to 100, default 50 (OpenAI's). */
  batchDiscount: int64("batch_discount").notNull().default(50),
  updatedAt: int64("updated_at").notNull(),
});

export type PriceRow = typeof prices.$inferSelect;
