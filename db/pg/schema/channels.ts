import { integer, pgTable, text } from "drizzle-orm/pg-core";
import { bool, createdAt, int64, jsonb } from "./columns";

/** Mirrors db/schema/channels.ts. */
export const channels = pgTable("channels", {
  id: integer("id").primaryKey().generatedByDefaultAsIdentity(),
  name: text("name").notNull().unique(),
  /** How the upstream is reached: `openai` (any OpenAI-compatible API), `anthropic` (the Messages API), `azure` (Azure OpenAI deployments). */
  type: text("type", { enum: ["openai", "anthropic", "azure"] }).notNull().default("openai"),
  /** Azure's `api-version` query parameter; required for `azure`, unused otherwise. */
  apiVersion: text("api_version"),
  /** Channel group; `official` and `special` always exist, others may be named freely. */
  group: text("group").notNull().default("official"),
  baseUrl: text("base_url").notNull(),
  /** Keyring ciphertext of the upstream API key (AAD `channel:<id>`). */
  apiKeyCiphertext: text("api_key_ciphertext").notNull(),
  models: jsonb("models").$type<string[]>().notNull().default([]),
  /** alias → upstream model id. */
  modelMap: jsonb("model_map").$type<Record<string, string>>().notNull().default({}),
  priority: int64("priority").notNull().default(0),
  weight: int64("weight").notNull().default(1),
  enabled: bool("enabled").notNull().default(true),
  headers: jsonb("headers").$type<Record<string, string>>().notNull().default({}),
  firstByteTimeoutMs: int64("first_byte_timeout_ms"),
  idleTimeoutMs: int64("idle_timeout_ms"),
  createdAt: createdAt(),
});

export type ChannelRow = typeof channels.$inferSelect;
