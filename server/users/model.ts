import { z } from "zod";
import { strictObject } from "../http/strict-object";

export const userName = z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9_.@-]+$/, "letters, digits and _ . @ - only");

export const createUserInput = strictObject({
  name: userName,
  role: z.enum(["admin", "user"]).default("user"),
  /** At least 1: a cap of 0 would refuse every request, which is what disabling the user is for. */
  concurrency: z.number().int().min(1, "must be at least 1 (to stop a user's requests, disable the user)").max(100_000).default(3),
  monthlyTokens: z.number().int().min(0).default(0),
  /** Requests and tokens per minute for the personal account; null = none. */
  rpm: z.number().int().min(1).nullable().default(null),
  tpm: z.number().int().min(1).nullable().default(null),
  credits: z.number().int().min(0).default(0),
  enabled: z.boolean().default(true),
});
export type CreateUserInput = z.input<typeof createUserInput>;

export const updateUserInput = strictObject({
  role: z.enum(["admin", "user"]).optional(),
  concurrency: z.number().int().min(1, "must be at least 1 (to stop a user's requests, disable the user)").max(100_000).optional(),
  monthlyTokens: z.number().int().min(0).optional(),
  rpm: z.number().int().min(1).nullable().optional(),
  tpm: z.number().int().min(1).nullable().optional(),
  enabled: z.boolean().optional(),
  password: z.string().min(8).max(1024).optional(),
});
export type UpdateUserInput = z.input<typeof updateUserInput>;
