import { eq } from "drizzle-orm";
import { users } from "../../db/schema";
import type { AppContext } from "../context";
import { accountsOf } from "../limits/accounts";

/** Balance and limits of a user as callers and admins see them, live (holds, slots, unflushed charges). */
export type AccountView = {
  balance: number;
  heldCredits: number;
  concurrency: number;
  inFlight: number;
  monthlyTokens: number;
  tokensThisMonth: number;
};

export function describeAccount(ctx: AppContext, userId: number): AccountView {
  const u = ctx.db.select({ concurrency: users.concurrency, monthlyTokens: users.monthlyTokens }).from(users).where(eq(users.id, userId)).get();
  const a = accountsOf(ctx).account(userId);
  return {
    balance: a.balance, heldCredits: a.held, concurrency: u?.concurrency ?? 0, inFlight: a.inFlight,
    monthlyTokens: u?.monthlyTokens ?? 0, tokensThisMonth: a.monthTokens,
  };
}
