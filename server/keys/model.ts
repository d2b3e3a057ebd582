import { z } from "zod";
import { parseCidr } from "../net/cidr";
import { ISO_DATE_HINT, strictObject } from "../http/strict-object";

/** Scope names as sent: relay's, or RELAY_SCOPE_ALIASES'; the service turns them into relay's (ScopeRegistry). */
const scopeName = z.string().min(1).max(64);

const cidr = z.string().trim().refine((v) => parseCidr(v) !== null, { message: "not a valid CIDR or IP address" });
/** An expiry: an ISO 8601 date or date-time in the future, as epoch milliseconds. */
const isoDate = z.union([z.iso.datetime({ offset: true }), z.iso.date()], { error: ISO_DATE_HINT })
  .transform((v) => Date.parse(v))
  .refine((t) => t > Date.now(), "is in the past; an expiry must be a future date or date-time (to stop a key now, disable it)");

/** Fields a key owner may set. Strict: unknown fields (user_id, hash, balance …) are rejected. */
export const keyFields = {
  label: z.string().max(200).default(""),
  group: z.enum(["official", "special", "either"]).default("either"),
  allowIps: z.array(cidr).max(100).default([]),
  expiresAt: isoDate.nullable().default(null),
  models: z.array(z.string().min(1).max(200)).max(1000).nullable().default(null),
  spendLimit: z.number().int().min(0).nullable().default(null),
  rpm: z.number().int().min(1).nullable().default(null),
  tpm: z.number().int().min(1).nullable().default(null),
  scopes: z.array(scopeName).min(1).default(["full"]),
};

export const createKeyInput = strictObject(keyFields);
export type CreateKeyInput = z.input<typeof createKeyInput>;

export const updateKeyInput = strictObject({
  // Not keyFields.label.optional(): zod 4 applies an inner default even when the field is omitted, which would blank the label.
  label: z.string().max(200).optional(),
  enabled: z.boolean().optional(),
  group: z.enum(["official", "special", "either"]).optional(),
  allowIps: z.array(cidr).max(100).optional(),
  expiresAt: isoDate.nullable().optional(),
  models: z.array(z.string().min(1).max(200)).max(1000).nullable().optional(),
  spendLimit: z.number().int().min(0).nullable().optional(),
  rpm: z.number().int().min(1).nullable().optional(),
  tpm: z.number().int().min(1).nullable().optional(),
  scopes: z.array(scopeName).min(1).optional(),
});
export type UpdateKeyInput = z.input<typeof updateKeyInput>;
