import { randomUUID } from "node:crypto";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { applyLedgerEntry } from "./ledger";

/**
 * An admin grant (positive) or adjustment (negative) to an account, committed at once. A negative amount may
 * not take the balance below what running requests hold, so the ledger can never go negative.
 */
export async function grantCredits(ctx: AppContext, accountId: number, amount: number, opts: { note?: string; ref?: string; actor: string; target: string }) {
  const account = await ctx.admission.live(accountId);
  if (amount < 0 && account.balance - account.held + amount < 0) {
    throw new ApiError("invalid_request", `cannot remove ${-amount}: available balance is ${account.balance - account.held}`, "amount");
  }
  const ref = opts.ref ? `admin:${opts.ref}` : `admin:${randomUUID()}`;
  const { row, applied } = await applyLedgerEntry(ctx, {
    accountId, kind: amount > 0 ? "grant" : "adjust", amount, ref, actor: opts.actor, note: opts.note ?? "",
  }, { actor: opts.actor, action: amount > 0 ? "credits.grant" : "credits.adjust", target: opts.target, detail: { amount, ref, note: opts.note ?? "" } });
  return { ...row, applied };
}
