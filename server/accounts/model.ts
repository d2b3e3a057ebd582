import { z } from "zod";
import { ROLES } from "../../db/schema";
import { strictObject } from "../http/strict-object";

export const orgName = z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9_.@-]+$/, "letters, digits and _ . @ - only");
const perMinute = z.number().int().min(1).nullable();
const cap = z.number().int().min(0).nullable();
const models = z.array(z.string().min(1).max(200)).max(1000).nullable();

export const createOrgInput = strictObject({
  name: orgName,
  credits: z.number().int().min(0).default(0),
  concurrency: z.number().int().min(1, "must be at least 1 (to stop an org's requests, suspend it)").max(100_000).default(10),
  monthlyTokens: z.number().int().min(0).default(0),
  rpm: perMinute.default(null),
  tpm: perMinute.default(null),
  models: models.default(null),
  keyReveal: z.enum(["always", "never"]).nullable().default(null),
});
export type CreateOrgInput = z.input<typeof createOrgInput>;

export const updateOrgInput = strictObject({
  name: orgName.optional(),
  concurrency: z.number().int().min(1, "must be at least 1 (to stop an org's requests, suspend it)").max(100_000).optional(),
  monthlyTokens: z.number().int().min(0).optional(),
  rpm: perMinute.optional(),
  tpm: perMinute.optional(),
  models: models.optional(),
  keyReveal: z.enum(["always", "never"]).nullable().optional(),
  suspended: z.boolean().optional(),
});
export type UpdateOrgInput = z.input<typeof updateOrgInput>;

/** A member's caps in the org: monthly spend in credits and concurrency, both optional (null: none). */
const memberCaps = { monthlySpend: cap, concurrency: z.number().int().min(1).nullable(), rpm: perMinute, tpm: perMinute };

export const memberInput = strictObject({
  user: z.string().min(1).max(64),
  role: z.enum(ROLES),
  monthlySpend: memberCaps.monthlySpend.default(null),
  concurrency: memberCaps.concurrency.default(null),
  rpm: memberCaps.rpm.default(null),
  tpm: memberCaps.tpm.default(null),
});
export type MemberInput = z.input<typeof memberInput>;

export const updateMemberInput = strictObject({
  role: z.enum(ROLES).optional(),
  monthlySpend: memberCaps.monthlySpend.optional(),
  concurrency: memberCaps.concurrency.optional(),
  rpm: memberCaps.rpm.optional(),
  tpm: memberCaps.tpm.optional(),
});
export type UpdateMemberInput = z.input<typeof updateMemberInput>;
