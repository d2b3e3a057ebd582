import { and, desc, eq, sql } from "drizzle-orm";
import { ledger, users, type LedgerRow } from "../../db/schema";
import { ApiError } from "../errors";
import type { AppContext } from "../context";

export type LedgerKind = LedgerRow["kind"];

/** Listeners told about every committed balance change (the in-memory accounts mirror the balance). */
const listeners = new WeakMap<AppContext, ((userId: number, amount: number) => void)[]>();
export function onBalanceChange(ctx: AppContext, fn: (userId: number, amount: number) => void): void {
  listeners.set(ctx, [...(listeners.get(ctx) ?? []), fn]);
}

/**
 * Appends one ledger row and moves the user's balance by `amount`, in one transaction, idempotent by `ref`:
 * a second call with the same ref changes nothing and returns the first row. A change that would take the
 * balance below zero is refused. Synchronous on purpose: bun:sqlite transactions must not await.
 */
export function applyLedgerEntry(
  ctx: AppContext,
  e: { userId: number; kind: LedgerKind; amount: number; ref: string; keyId?: number | null; actor?: string; note?: string },
): { row: LedgerRow; applied: boolean } {
  if (!Number.isSafeInteger(e.amount)) throw new ApiError("invalid_request", "amount must be an integer", "amount");
  const result = ctx.db.$client.transaction(() => {
    const existing = ctx.db.select().from(ledger).where(eq(ledger.ref, e.ref)).get();
    if (existing) return { row: existing, applied: false };
    const user = ctx.db.select({ credits: users.credits }).from(users).where(eq(users.id, e.userId)).get();
    if (!user) throw new ApiError("not_found", `no user with id ${e.userId}`);
    const balanceAfter = user.credits + e.amount;
    if (balanceAfter < 0) throw new ApiError("quota_exceeded", `balance ${user.credits} cannot cover ${-e.amount}`, "amount");
    ctx.db.update(users).set({ credits: sql`${users.credits} + ${e.amount}` }).where(eq(users.id, e.userId)).run();
    const row = ctx.db.insert(ledger).values({
      at: Date.now(), userId: e.userId, kind: e.kind, amount: e.amount, balanceAfter, ref: e.ref,
      keyId: e.keyId ?? null, actor: e.actor ?? "", note: e.note ?? "",
    }).returning().get();
    return { row, applied: true };
  }).immediate();
  if (result.applied) for (const fn of listeners.get(ctx) ?? []) fn(e.userId, e.amount);
  return result;
}

export function listLedger(ctx: AppContext, userId: number, limit = 50): LedgerRow[] {
  return ctx.db.select().from(ledger).where(eq(ledger.userId, userId)).orderBy(desc(ledger.id)).limit(limit).all();
}

/** Sum of a user's ledger rows; equals users.credits whenever no transaction is open. */
export function ledgerSum(ctx: AppContext, userId: number): number {
  const r = ctx.db.select({ s: sql<number>`coalesce(sum(${ledger.amount}), 0)` }).from(ledger).where(and(eq(ledger.userId, userId))).get();
  return Number(r?.s ?? 0);
}
