import { desc, eq, sql } from "drizzle-orm";
import { accounts, ledger, type LedgerRow } from "../../db/schema";
import { ApiError } from "../errors";
import type { AppContext } from "../context";

export type LedgerKind = LedgerRow["kind"];

/**
 * Appends one ledger row and moves the account's balance by `amount`, in one transaction, idempotent by
 * `ref`: a second call with the same ref changes nothing and returns the first row. A change that would take
 * the balance below zero is refused (the accounts table's CHECK refuses it too). Synchronous on purpose:
 * bun:sqlite transactions must not await.
 */
export function applyLedgerEntry(
  ctx: AppContext,
  e: { accountId: number; userId?: number | null; kind: LedgerKind; amount: number; ref: string; keyId?: number | null; actor?: string; note?: string },
): { row: LedgerRow; applied: boolean } {
  if (!Number.isSafeInteger(e.amount)) throw new ApiError("invalid_request", "amount must be an integer", "amount");
  const result = ctx.db.$client.transaction(() => {
    const existing = ctx.db.select().from(ledger).where(eq(ledger.ref, e.ref)).get();
    if (existing) return { row: existing, applied: false };
    const account = ctx.db.select({ credits: accounts.credits }).from(accounts).where(eq(accounts.id, e.accountId)).get();
    if (!account) throw new ApiError("not_found", `no account with id ${e.accountId}`);
    const balanceAfter = account.credits + e.amount;
    if (balanceAfter < 0) throw new ApiError("quota_exceeded", `balance ${account.credits} cannot cover ${-e.amount}`, "amount");
    ctx.db.update(accounts).set({ credits: sql`${accounts.credits} + ${e.amount}` }).where(eq(accounts.id, e.accountId)).run();
    const row = ctx.db.insert(ledger).values({
      at: Date.now(), accountId: e.accountId, userId: e.userId ?? null, kind: e.kind, amount: e.amount, balanceAfter, ref: e.ref,
      keyId: e.keyId ?? null, actor: e.actor ?? "", note: e.note ?? "",
    }).returning().get();
    return { row, applied: true };
  }).immediate();
  if (result.applied) ctx.accounts.credited(e.accountId, e.amount);
  return result;
}

export function listLedger(ctx: AppContext, accountId: number, limit = 50): LedgerRow[] {
  return ctx.db.select().from(ledger).where(eq(ledger.accountId, accountId)).orderBy(desc(ledger.id)).limit(limit).all();
}
