import type { AccountRow } from "../../db/schema";
import type { AppContext } from "../context";

/** Balance and limits of an account as callers and admins see them, live (holds, slots, unflushed charges). */
export type AccountView = {
  balance: number;
  heldCredits: number;
  concurrency: number;
  inFlight: number;
  monthlyTokens: number;
  tokensThisMonth: number;
  rpm: number | null;
  tpm: number | null;
};

export async function describeAccount(ctx: AppContext, a: AccountRow): Promise<AccountView> {
  const live = await ctx.admission.live(a.id);
  return {
    balance: live.balance, heldCredits: live.held, concurrency: a.concurrency, inFlight: live.inFlight,
    monthlyTokens: a.monthlyTokens, tokensThisMonth: live.monthTokens, rpm: a.rpm, tpm: a.tpm,
  };
}
