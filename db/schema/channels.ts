import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { bool, createdAt } from "./columns";

export const channels = sqliteTable("channels", {
  id: integer("id").primaryKey({ autoIncrement: true }),
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
  models: text("models", { mode: "json" }).$type<string[]>().notNull().default([]),
  /** alias → upstream model id. */
  modelMap: text("model_map", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
  priority: integer("priority").notNull().default(0),
  weight: integer("weight").notNull().default(1),
  enabled: bool("enabled").notNull().default(true),
  headers: text("headers", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
  firstByteTimeoutMs: integer("first_byte_timeout_ms"),
  idleTimeoutMs: integer("idle_timeout_ms"),
  createdAt: createdAt(),
});

export type ChannelRow = typeof channels.$inferSelect;
