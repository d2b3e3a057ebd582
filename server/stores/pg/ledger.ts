import { desc, eq, sql } from "drizzle-orm";
import { accounts, ledger } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import { StoreConflict, type LedgerStore } from "../types";
import { writeAudit, type Q } from "./audit";
import { isInt4 } from "./errors";

const byRef = async (q: Q, ref: string) => (await q.select().from(ledger).where(eq(ledger.ref, ref)))[0];

/**
 * The ledger outside settlement (grants, adjustments), under concurrency: the account row is locked
 * (FOR NO KEY UPDATE: it serializes balance changes without blocking inserts of keys and memberships that
 * reference the account) before the balance is read, so concurrent entries apply one after the other, each
 * seeing the balance the previous one left. The ref is unique: a repeat is found by the read after the lock
 * (same account) or by ON CONFLICT DO NOTHING, which waits for a concurrent insert of it (any account).
 */
export function pgLedger(db: PgDb): LedgerStore {
  return {
    async apply(e, audit) {
      return db.transaction(async (tx) => {
        // A ref already written answers first, as SQLite's does, even if its account is gone since.
        const existing = await byRef(tx, e.ref);
        if (existing) return { row: existing, applied: false };
        const [account] = isInt4(e.accountId)
          ? await tx.select({ credits: accounts.credits, held: accounts.held }).from(accounts).where(eq(accounts.id, e.accountId)).for("no key update")
          : [];
        if (!account) throw new StoreConflict("NoAccount");
        // Committed by a concurrent apply of the same ref while this one waited for the lock.
        const raced = await byRef(tx, e.ref);
        if (raced) return { row: raced, applied: false };
        const balanceAfter = account.credits + e.amount;
        if (balanceAfter < 0) throw new StoreConflict("Overdraft", `balance ${account.credits} cannot cover ${-e.amount}`);
        // What running requests hold (cluster mode, on any instance) is not the admin's to take back.
        if (e.amount < 0 && balanceAfter - account.held < 0) {
          throw new StoreConflict("Overdraft", `available balance ${account.credits - account.held} (balance minus what running requests hold) cannot cover ${-e.amount}`);
        }
        const [row] = await tx.insert(ledger).values({
          at: Date.now(), accountId: e.accountId, userId: e.userId ?? null, kind: e.kind, amount: e.amount, balanceAfter, ref: e.ref,
          keyId: e.keyId ?? null, actor: e.actor ?? "", note: e.note ?? "",
        }).onConflictDoNothing({ target: ledger.ref }).returning();
        if (!row) return { row: (await byRef(tx, e.ref))!, applied: false };
        // Relative, though the row is locked since it was read (so this makes it exactly balanceAfter): a writer
        // that does not lock first still cannot have its change overwritten.
        await tx.update(accounts).set({ credits: sql`${accounts.credits} + ${e.amount}` }).where(eq(accounts.id, e.accountId));
        if (audit) await writeAudit(tx, audit);
        return { row, applied: true };
      });
    },
    async list(accountId, limit) {
      if (!isInt4(accountId)) return [];
      return db.select().from(ledger).where(eq(ledger.accountId, accountId)).orderBy(desc(ledger.id)).limit(limit);
    },
  };
}
