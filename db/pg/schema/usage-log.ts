import { index, integer, pgTable, text } from "drizzle-orm/pg-core";
import { bool, int64 } from "./columns";

/** One row per relayed request, written in batches off the hot path. Mirrors db/schema/usage-log.ts. */
export const usageLog = pgTable(
  "usage_log",
  {
    id: int64("id").primaryKey().generatedByDefaultAsIdentity(),
    requestId: text("request_id").notNull().unique(),
    at: int64("at").notNull(),
    /** The account charged. */
    accountId: integer("account_id").notNull(),
    /** The org, when the account is one. */
    orgId: integer("org_id"),
    /** The user behind the request: the key's owner or member, the session's user; null for a service key. */
    userId: integer("user_id"),
    keyId: integer("key_id"),
    /** The key's label when it was used, so history reads the same after the key is deleted. */
    keyLabel: text("key_label").notNull().default(""),
    /** Public part only (prefix + public id), never the secret. */
    keyPrefix: text("key_prefix").notNull().default(""),
    sourceIp: text("source_ip").notNull().default(""),
    endpoint: text("endpoint").notNull().default(""),
    model: text("model").notNull().default(""),
    upstreamModel: text("upstream_model").notNull().default(""),
    channelId: integer("channel_id"),
    status: integer("status").notNull(),
    errorCode: text("error_code"),
    stream: bool("stream").notNull().default(false),
    promptTokens: int64("prompt_tokens").notNull().default(0),
    completionTokens: int64("completion_tokens").notNull().default(0),
    /** Of the prompt tokens: read from the provider's prompt cache (OpenAI cached_tokens, Anthropic cache reads). */
    cachedTokens: int64("cached_tokens").notNull().default(0),
    /** Of the prompt tokens: written to the prompt cache (Anthropic cache_creation_input_tokens). */
    cacheWriteTokens: int64("cache_write_tokens").notNull().default(0),
    /** True when the relay counted tokens itself because the upstream reported none. */
    tokensEstimated: bool("tokens_estimated").notNull().default(false),
    cost: int64("cost").notNull().default(0),
    /**
     * Credits the request's usage cost beyond what was charged: an upstream that ignored the output cap
     * can report more than the hold, and the account pays only what it can (its balance never goes negative).
     */
    shortfall: int64("shortfall").notNull().default(0),
    /** What went wrong, for operators: channel names, URLs and runtime errors the client is never shown. */
    errorDetail: text("error_detail"),
    ttfbMs: int64("ttfb_ms"),
    totalMs: int64("total_ms").notNull().default(0),
  },
  // No index on `at` alone: every query filters by user or key first, and each index costs every insert.
  (t) => [index("usage_user_at_idx").on(t.userId, t.at), index("usage_key_at_idx").on(t.keyId, t.at), index("usage_account_at_idx").on(t.accountId, t.at)],
);

export type UsageRow = typeof usageLog.$inferSelect;
