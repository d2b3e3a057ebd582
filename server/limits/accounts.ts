import { and, eq } from "drizzle-orm";
import { accounts, apiKeys, memberSpend, tokenUsage } from "../../db/schema";
import type { AppContext } from "../context";
import type { SettlementWriter } from "../usage/settlement-writer";
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

export class Accounts {
  private readonly accounts = new Map<number, Account>();
  private readonly members = new Map<string, MemberState>();
  private readonly keys = new Map<number, KeySpend>();
  /** Per-minute rate limits of keys, accounts and members (in this process: embedded mode). */
  readonly rates = new RateLimiter();

  /** The writer is embedded mode's own: a month's first request must block on the commit before it reloads. */
  constructor(private readonly ctx: AppContext, private readonly writer: SettlementWriter) {}

  /** A committed balance change made outside settlement (an admin grant or adjustment): mirrored here. */
  credited(accountId: number, amount: number): void {
    const a = this.accounts.get(accountId);
    if (a) a.balance += amount;
  }

  account(accountId: number): Account {
    let a = this.accounts.get(accountId);
    const month = utcMonth();
    if (!a) {
      const row = this.ctx.db.select({ credits: accounts.credits }).from(accounts).where(eq(accounts.id, accountId)).get();
      a = { accountId, balance: row?.credits ?? 0, held: 0, inFlight: 0, month, monthTokens: this.loadMonthTokens(accountId, month), heldTokens: 0 };
      this.accounts.set(accountId, a);
    } else if (a.month !== month) {
      // Settlements still queued may count in the new month; write them first, or this reload would miss
      // them and the new month's quota would start short of what was already used.
      this.writer.flushSync();
      a.month = month;
      a.monthTokens = this.loadMonthTokens(accountId, month);
    }
    return a;
  }

  member(accountId: number, userId: number): MemberState {
    const k = `${accountId}:${userId}`;
    let m = this.members.get(k);
    const month = utcMonth();
    if (!m) {
      m = { accountId, userId, held: 0, inFlight: 0, month, spent: this.loadMemberSpend(accountId, userId, month) };
      this.members.set(k, m);
    } else if (m.month !== month) {
      this.writer.flushSync();
      m.month = month;
      m.spent = this.loadMemberSpend(accountId, userId, month);
    }
    return m;
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

  /** Live view if loaded; accounts never seen since start have nothing held or in flight. */
  peek(accountId: number): Account | undefined {
    return this.accounts.get(accountId);
  }

  peekMember(accountId: number, userId: number): MemberState | undefined {
    return this.members.get(`${accountId}:${userId}`);
  }

  private loadMonthTokens(accountId: number, month: string): number {
    const r = this.ctx.db.select({ t: tokenUsage.tokens }).from(tokenUsage)
      .where(and(eq(tokenUsage.accountId, accountId), eq(tokenUsage.month, month))).get();
    return r?.t ?? 0;
  }

  private loadMemberSpend(accountId: number, userId: number, month: string): number {
    const r = this.ctx.db.select({ c: memberSpend.credits }).from(memberSpend)
      .where(and(eq(memberSpend.accountId, accountId), eq(memberSpend.userId, userId), eq(memberSpend.month, month))).get();
    return r?.c ?? 0;
  }
}

