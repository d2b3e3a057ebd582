import { desc, eq, sql } from "drizzle-orm";
import { accounts, ledger } from "../../../db/schema";
import type { Db } from "../../../db/client";
import { StoreConflict, type LedgerStore } from "../types";
import { writeAudit } from "./audit";

/**
 * The ledger outside settlement (grants, adjustments). Synchronous on purpose inside: bun:sqlite
 * transactions must not await. Settlement charges are written by the settlement writer (usage/settlement.ts)
 * in its own batched transactions, with the same rules.
 */
export function sqliteLedger(db: Db): LedgerStore {
  return {
    async apply(e, audit) {
      return db.$client.transaction(() => {
        const existing = db.select().from(ledger).where(eq(ledger.ref, e.ref)).get();
        if (existing) return { row: existing, applied: false };
        const account = db.select({ credits: accounts.credits }).from(accounts).where(eq(accounts.id, e.accountId)).get();
        if (!account) throw new StoreConflict("NoAccount");
        const balanceAfter = account.credits + e.amount;
        if (balanceAfter < 0) throw new StoreConflict("Overdraft", `balance ${account.credits} cannot cover ${-e.amount}`);
        db.update(accounts).set({ credits: sql`${accounts.credits} + ${e.amount}` }).where(eq(accounts.id, e.accountId)).run();
        const row = db.insert(ledger).values({
          at: Date.now(), accountId: e.accountId, userId: e.userId ?? null, kind: e.kind, amount: e.amount, balanceAfter, ref: e.ref,
          keyId: e.keyId ?? null, actor: e.actor ?? "", note: e.note ?? "",
        }).returning().get();
        if (audit) writeAudit(db, audit);
        return { row, applied: true };
      }).immediate();
    },
    async list(accountId, limit) {
      return db.select().from(ledger).where(eq(ledger.accountId, accountId)).orderBy(desc(ledger.id)).limit(limit).all();
    },
  };
}
