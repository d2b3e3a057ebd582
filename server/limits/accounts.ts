import { and, eq } from "drizzle-orm";
import { accounts, apiKeys, memberSpend, tokenUsage } from "../../db/schema";
import type { Db } from "../../db/client";
import { utcMonth } from "./month";
import { RateLimiter } from "./rate-limits";

/**
 * Live money and capacity state per account (a user's own or an org), per org member and per key. This
 * process is the only writer of balances (SQLite has one writer), so checking and reserving here is atomic:
 * JavaScript runs one request's admission to completion before the next, and no interleaving of requests
 * can overdraw. The database lags by at most one flush; holds and in-flight slots live only here, so a
 * crash cannot leak them.
 */
export type Account = {
  accountId: number;
  /** Balance including settlements not yet flushed. */
  balance: number;
  held: number;
  inFlight: number;
  month: string;
  monthTokens: number;
  heldTokens: number;
};

/** A member's share of an org: what their member keys hold, run and spent this month, against their caps. */
export type MemberState = { accountId: number; userId: number; held: number; inFlight: number; month: string; spent: number };

export type KeySpend = { keyId: number; spent: number; held: number };

/** Where live state starts from: what is committed. Read when an account, key or member is first used (and at a new month). */
export interface LiveSource {
  credits(accountId: number): number;
  monthTokens(accountId: number, month: string): number;
  keySpent(keyId: number): number;
  memberSpent(accountId: number, userId: number, month: string): number;
  /** Makes everything committed so far readable (a month's first request must see the last month's settlements). */
  settle(): void;
}

/** Embedded mode's: the SQLite file, read directly; `settle` blocks on the writer's flush. */
export function sqliteLiveSource(db: Db, flushSync: () => void): LiveSource {
  return {
    credits: (id) => db.select({ credits: accounts.credits }).from(accounts).where(eq(accounts.id, id)).get()?.credits ?? 0,
    monthTokens: (id, month) => db.select({ t: tokenUsage.tokens }).from(tokenUsage).where(and(eq(tokenUsage.accountId, id), eq(tokenUsage.month, month))).get()?.t ?? 0,
    keySpent: (id) => db.select({ spent: apiKeys.spent }).from(apiKeys).where(eq(apiKeys.id, id)).get()?.spent ?? 0,
    memberSpent: (accountId, userId, month) => db.select({ c: memberSpend.credits }).from(memberSpend)
      .where(and(eq(memberSpend.accountId, accountId), eq(memberSpend.userId, userId), eq(memberSpend.month, month))).get()?.c ?? 0,
    settle: flushSync,
  };
}

export class Accounts {
  private readonly accounts = new Map<number, Account>();
  private readonly members = new Map<string, MemberState>();
  private readonly keys = new Map<number, KeySpend>();
  /** Per-minute rate limits of keys, accounts and members (in this process: embedded mode). */
  readonly rates = new RateLimiter();

  constructor(private readonly source: LiveSource) {}

  /** A committed balance change made outside settlement (an admin grant or adjustment): mirrored here. */
  credited(accountId: number, amount: number): void {
    const a = this.accounts.get(accountId);
    if (a) a.balance += amount;
  }

  /** An object settled when it ended (committed): the balance, key and member spend get its refund, the month its tokens. */
  settledLater(s: { accountId: number; keyId: number | null; memberUserId: number | null; refund: number; tokens: number }): void {
    const a = this.accounts.get(s.accountId);
    if (a) {
      a.balance += s.refund;
      a.monthTokens += s.tokens;
    }
    const k = s.keyId === null ? undefined : this.keys.get(s.keyId);
    if (k) k.spent = Math.max(0, k.spent - s.refund);
    const m = s.memberUserId === null ? undefined : this.members.get(`${s.accountId}:${s.memberUserId}`);
    if (m) m.spent = Math.max(0, m.spent - s.refund);
  }

  account(accountId: number): Account {
    let a = this.accounts.get(accountId);
    const month = utcMonth();
    if (!a) {
      a = { accountId, balance: this.source.credits(accountId), held: 0, inFlight: 0, month, monthTokens: this.source.monthTokens(accountId, month), heldTokens: 0 };
      this.accounts.set(accountId, a);
    } else if (a.month !== month) {
      // Settlements still queued may count in the new month; write them first, or this reload would miss
      // them and the new month's quota would start short of what was already used.
      this.source.settle();
      a.month = month;
      a.monthTokens = this.source.monthTokens(accountId, month);
    }
    return a;
  }

  member(accountId: number, userId: number): MemberState {
    const k = `${accountId}:${userId}`;
    let m = this.members.get(k);
    const month = utcMonth();
    if (!m) {
      m = { accountId, userId, held: 0, inFlight: 0, month, spent: this.source.memberSpent(accountId, userId, month) };
      this.members.set(k, m);
    } else if (m.month !== month) {
      this.source.settle();
      m.month = month;
      m.spent = this.source.memberSpent(accountId, userId, month);
    }
    return m;
  }

  keySpend(keyId: number): KeySpend {
    let k = this.keys.get(keyId);
    if (!k) {
      k = { keyId, spent: this.source.keySpent(keyId), held: 0 };
      this.keys.set(keyId, k);
    }
    return k;
  }

  /** Live view if loaded; accounts never seen since start have nothing held or in flight. */
  peek(accountId: number): Account | undefined {
    return this.accounts.get(accountId);
  }

  peekMember(accountId: number, userId: number): MemberState | undefined {
    return this.members.get(`${accountId}:${userId}`);
  }
}
