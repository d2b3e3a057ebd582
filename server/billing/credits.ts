import { randomUUID } from "node:crypto";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { applyLedgerEntry } from "./ledger";
import { recordAudit } from "../audit/audit";

/**
 * An admin grant (positive) or adjustment (negative) to an account, committed at once. A negative amount may
 * not take the balance below what running requests hold, so the ledger can never go negative.
 */
export function grantCredits(ctx: AppContext, accountId: number, amount: number, opts: { note?: string; ref?: string; actor: string; target: string }) {
  const account = ctx.accounts.account(accountId);
  if (amount < 0 && account.balance - account.held + amount < 0) {
    throw new ApiError("invalid_request", `cannot remove ${-amount}: available balance is ${account.balance - account.held}`, "amount");
  }
  const ref = opts.ref ? `admin:${opts.ref}` : `admin:${randomUUID()}`;
  const { row, applied } = applyLedgerEntry(ctx, {
    accountId, kind: amount > 0 ? "grant" : "adjust", amount, ref, actor: opts.actor, note: opts.note ?? "",
  });
  if (applied) recordAudit(ctx, opts.actor, amount > 0 ? "credits.grant" : "credits.adjust", opts.target, { amount, ref, note: opts.note ?? "" });
  return { ...row, applied };
}
