import { eq, and } from "drizzle-orm";
import { apiKeys, tokenUsage, users } from "../../db/schema";
import type { AppContext } from "../context";
import { onBalanceChange } from "../billing/ledger";
import { utcMonth } from "./month";

/**
 * Live money and capacity state per user and per key. This process is the only writer of balances
 * (SQLite has one writer), so checking and reserving here is atomic: JavaScript runs one request's
 * admission to completion before the next, and no interleaving of requests can overdraw.
 * The database lags by at most one flush; holds and in-flight slots live only here, so a crash
 * cannot leak them.
 */
export type Account = {
  userId: number;
  /** Balance including settlements not yet flushed. */
  balance: number;
  held: number;
  inFlight: number;
  month: string;
  monthTokens: number;
  heldTokens: number;
};

export type KeySpend = { keyId: number; spent: number; held: number };

export class Accounts {
  private readonly users = new Map<number, Account>();
  private readonly keys = new Map<number, KeySpend>();

  constructor(private readonly ctx: AppContext) {
    // Admin grants and adjustments are committed synchronously; mirror their amount here.
    onBalanceChange(ctx, (userId, amount) => {
      const a = this.users.get(userId);
      if (a) a.balance += amount;
    });
  }

  account(userId: number): Account {
    let a = this.users.get(userId);
    const month = utcMonth();
    if (!a) {
      const u = this.ctx.db.select({ credits: users.credits }).from(users).where(eq(users.id, userId)).get();
      a = { userId, balance: u?.credits ?? 0, held: 0, inFlight: 0, month, monthTokens: this.loadMonthTokens(userId, month), heldTokens: 0 };
      this.users.set(userId, a);
    } else if (a.month !== month) {
      // Settlements still queued may count in the new month; write them first, or this reload would miss
      // them and the new month's quota would start short of what was already used.
      this.ctx.writer.flush();
      a.month = month;
      a.monthTokens = this.loadMonthTokens(userId, month);
    }
    return a;
  }

  keySpend(keyId: number): KeySpend {
    let k = this.keys.get(keyId);
    if (!k) {
      const row = this.ctx.db.select({ spent: apiKeys.spent }).from(apiKeys).where(eq(apiKeys.id, keyId)).get();
      k = { keyId, spent: row?.spent ?? 0, held: 0 };
      this.keys.set(keyId, k);
    }
    return k;
  }

  /** Live view if loaded; users never seen since start have nothing held or in flight. */
  peek(userId: number): Account | undefined {
    return this.users.get(userId);
  }

  private loadMonthTokens(userId: number, month: string): number {
    const r = this.ctx.db.select({ t: tokenUsage.tokens }).from(tokenUsage)
      .where(and(eq(tokenUsage.userId, userId), eq(tokenUsage.month, month))).get();
    return r?.t ?? 0;
  }
}

export function accountsOf(ctx: AppContext): Accounts {
  return (ctx.ext.accounts ??= new Accounts(ctx)) as Accounts;
}
