import { eq } from "drizzle-orm";
import { users } from "../../db/schema";
import type { AppContext } from "../context";

/** Balance and limits of a user as callers and admins see them. The limits feature refines this with live state. */
export type AccountView = {
  balance: number;
  heldCredits: number;
  concurrency: number;
  inFlight: number;
  monthlyTokens: number;
  tokensThisMonth: number;
};

type Provider = (ctx: AppContext, userId: number) => AccountView;
let provider: Provider | null = null;

/** The limits feature installs the live view (holds, in-flight counts); before that, the stored values. */
export function setAccountViewProvider(p: Provider): void {
  provider = p;
}

export function describeAccount(ctx: AppContext, userId: number): AccountView {
  if (provider) return provider(ctx, userId);
  const u = ctx.db.select().from(users).where(eq(users.id, userId)).get();
  return {
    balance: u?.credits ?? 0, heldCredits: 0, concurrency: u?.concurrency ?? 0, inFlight: 0,
    monthlyTokens: u?.monthlyTokens ?? 0, tokensThisMonth: 0,
  };
}
