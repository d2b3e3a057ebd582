import { z } from "zod";
import { strictObject } from "../http/strict-object";

const modelName = z.string().trim().min(1).max(200);
const url = z.string().url().refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL").transform((u) => u.replace(/\/+$/, ""));
const headers = z.record(z.string().regex(/^[A-Za-z0-9-]+$/, "not a header name"), z.string().max(4096));
const timeout = z.number().int().min(1).max(3_600_000).nullable();

export const CHANNEL_TYPES = ["openai", "anthropic", "azure"] as const;
const channelType = z.enum(CHANNEL_TYPES);
const apiVersion = z.string().trim().regex(/^[0-9A-Za-z._-]{1,40}$/, "an Azure api-version, e.g. 2024-10-21").nullable();

/** Azure deployments are addressed by an api-version, so an azure channel without one cannot be reached. */
const requireAzureVersion = (c: { type?: string; apiVersion?: string | null }, ctx: z.RefinementCtx) => {
  if (c.type === "azure" && !c.apiVersion) ctx.addIssue({ code: "custom", path: ["apiVersion"], message: "is required for an azure channel (e.g. --api-version 2024-10-21)" });
};

/**
 * A channel: one upstream provider. `baseUrl` is what the provider's own SDK takes: for `openai`, e.g.
 * https://api.openai.com/v1; for `anthropic`, https://api.anthropic.com (a trailing /v1 is accepted too); for
 * `azure`, https://NAME.openai.azure.com.
 */
export const createChannelInput = strictObject({
  name: z.string().trim().min(1).max(100),
  type: channelType.default("openai"),
  apiVersion: apiVersion.default(null),
  group: z.string().trim().min(1).max(50).regex(/^[A-Za-z0-9_.-]+$/).default("official"),
  baseUrl: url,
  apiKey: z.string().min(1).max(4096),
  models: z.array(modelName).max(1000).default([]),
  modelMap: z.record(modelName, modelName).default({}),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
  weight: z.number().int().min(0).max(1_000_000).default(1),
  enabled: z.boolean().default(true),
  headers: headers.default({}),
  firstByteTimeoutMs: timeout.default(null),
  idleTimeoutMs: timeout.default(null),
}).superRefine(requireAzureVersion);
export type CreateChannelInput = z.input<typeof createChannelInput>;

export const updateChannelInput = strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  type: channelType.optional(),
  apiVersion: apiVersion.optional(),
  group: z.string().trim().min(1).max(50).regex(/^[A-Za-z0-9_.-]+$/).optional(),
  baseUrl: url.optional(),
  apiKey: z.string().min(1).max(4096).optional(),
  models: z.array(modelName).max(1000).optional(),
  modelMap: z.record(modelName, modelName).optional(),
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  weight: z.number().int().min(0).max(1_000_000).optional(),
  enabled: z.boolean().optional(),
  headers: headers.optional(),
  firstByteTimeoutMs: timeout.optional(),
  idleTimeoutMs: timeout.optional(),
});
export type UpdateChannelInput = z.input<typeof updateChannelInput>;
