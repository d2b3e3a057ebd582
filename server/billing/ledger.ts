import type { LedgerRow } from "../../db/schema";
import { ApiError } from "../errors";
import type { AppContext } from "../context";
import { StoreConflict, type AuditEntry, type LedgerEntry } from "../stores/types";

export type LedgerKind = LedgerRow["kind"];

/**
 * Appends one ledger row and moves the account's balance by `amount`, in one transaction, idempotent by
 * `ref`: a second call with the same ref changes nothing and returns the first row. A change that would take
 * the balance below zero is refused (the accounts table's CHECK refuses it too). The live balance follows.
 */
export async function applyLedgerEntry(ctx: AppContext, e: LedgerEntry, audit?: AuditEntry): Promise<{ row: LedgerRow; applied: boolean }> {
  if (!Number.isSafeInteger(e.amount)) throw new ApiError("invalid_request", "amount must be an integer", "amount");
  let result: { row: LedgerRow; applied: boolean };
  try {
    result = await ctx.stores.ledger.apply(e, audit);
  } catch (err) {
    if (err instanceof StoreConflict && err.kind === "NoAccount") throw new ApiError("not_found", `no account with id ${e.accountId}`);
    if (err instanceof StoreConflict && err.kind === "Overdraft") throw new ApiError("quota_exceeded", err.message, "amount");
    throw err;
  }
  if (result.applied) ctx.admission.credited(e.accountId, e.amount);
  return result;
}

export function listLedger(ctx: AppContext, accountId: number, limit = 50): Promise<LedgerRow[]> {
  return ctx.stores.ledger.list(accountId, limit);
}

/**
 * The ledger as admins see it: each row with the object it concerns (`batch:batch_abc`), when it is the
 * prepayment of work that finishes later (its ref is the request id) or that work's refund.
 */
export async function listLedgerWithObjects(ctx: AppContext, accountId: number, limit = 50): Promise<(LedgerRow & { object: string | null })[]> {
  const rows = await listLedger(ctx, accountId, limit);
  const charges = rows.filter((r) => r.kind === "charge").map((r) => r.ref);
  const prepaid = new Map((await ctx.stores.objects.prepaidBy(charges)).map((o) => [o.requestId, `${o.kind}:${o.upstreamId}`]));
  return rows.map((r) => {
    const refund = r.kind === "refund" && r.ref.startsWith("refund:") ? r.ref.slice("refund:".length) : null;
    return { ...r, object: refund ?? prepaid.get(r.ref) ?? null };
  });
}
