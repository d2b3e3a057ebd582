import type { Database } from "bun:sqlite";
import { utcMonth } from "../limits/month";

/*
 * Database code only (bun:sqlite and a date helper, nothing with state), because it runs in the settlement
 * writer's thread (settlement-thread.ts) as well as in the main thread (in-memory databases, the fallback).
 */

/** Everything the usage log keeps about one request. */
export type RequestRecord = {
  requestId: string;
  /** The account charged. */
  accountId: number;
  /** The org, when the account is one (for usage queries by org). */
  orgId: number | null;
  /** The user behind the request: a key's owner or member, a session's user; null for a service key. */
  userId: number | null;
  keyId: number | null;
  keyLabel: string;
  keyPrefix: string;
  sourceIp: string;
  endpoint: string;
  model: string;
  upstreamModel: string;
  channelId: number | null;
  status: number;
  errorCode: string | null;
  stream: boolean;
  /** Every input token, cached and cache-written ones included. */
  promptTokens: number;
  completionTokens: number;
  /** Of promptTokens: read from the provider's prompt cache. */
  cachedTokens: number;
  /** Of promptTokens: written to the prompt cache. */
  cacheWriteTokens: number;
  tokensEstimated: boolean;
  ttfbMs: number | null;
  totalMs: number;
  /** For operators only (channel names, URLs, runtime errors); null when there is nothing to add. */
  errorDetail: string | null;
  /** Refused before any upstream was tried: logged so the audit shows the call, never charged or counted as use. */
  refused: boolean;
};

/**
 * One settled request as it is written: its usage row, the charge (what the account could pay of the
 * usage's cost) and the shortfall (the rest, when an upstream went past the hold).
 */
export type Settlement = { record: RequestRecord; cost: number; tokens: number; shortfall: number; at: number };

/**
 * Settlements as sent to the writer's thread: one JSON array of flat tuples. Posting the objects
 * themselves (structured clone) cost the main thread about four times as much per settlement.
 * The journal (journal.ts) writes the same tuples, one per line.
 */
export function encodeSettlements(batch: readonly Settlement[]): string {
  return JSON.stringify(batch.map(settlementTuple));
}

export function decodeSettlements(text: string): Settlement[] {
  return (JSON.parse(text) as unknown[][]).map(settlementOfTuple);
}

export function settlementTuple({ record: r, cost, tokens, shortfall, at }: Settlement): unknown[] {
  return [
    r.requestId, r.userId, r.keyId, r.keyPrefix, r.sourceIp, r.endpoint, r.model, r.upstreamModel, r.channelId, r.status,
    r.errorCode, r.stream, r.promptTokens, r.completionTokens, r.tokensEstimated, r.ttfbMs, r.totalMs, cost, tokens, at,
    shortfall, r.errorDetail, r.refused, r.cachedTokens, r.cacheWriteTokens, r.accountId, r.orgId, r.keyLabel,
  ];
}

export function settlementOfTuple(t: unknown[]): Settlement {
  return {
    record: {
      requestId: t[0] as string, userId: t[1] as number | null, keyId: t[2] as number | null, keyPrefix: t[3] as string, sourceIp: t[4] as string,
      endpoint: t[5] as string, model: t[6] as string, upstreamModel: t[7] as string, channelId: t[8] as number | null, status: t[9] as number,
      errorCode: t[10] as string | null, stream: t[11] as boolean, promptTokens: t[12] as number, completionTokens: t[13] as number,
      tokensEstimated: t[14] as boolean, ttfbMs: t[15] as number | null, totalMs: t[16] as number,
      errorDetail: t[21] as string | null, refused: t[22] as boolean, cachedTokens: t[23] as number, cacheWriteTokens: t[24] as number,
      accountId: t[25] as number, orgId: t[26] as number | null, keyLabel: t[27] as string,
    },
    cost: t[17] as number, tokens: t[18] as number, at: t[19] as number, shortfall: t[20] as number,
  };
}

/**
 * Writes settlements in one transaction: per request the usage row and, when it cost anything, the ledger
 * charge; then per account, member and key the summed balance, spend, monthly tokens and last-used time. The usage
 * row's unique request id makes it idempotent: a settlement already written is skipped, never charged twice.
 * Throws (and rolls everything back) when any statement fails.
 */
export function commitSettlements(db: Database, settlements: readonly Settlement[]): void {
  // IMMEDIATE: take the write lock before the first read, so the balances read below cannot go stale.
  db.transaction(() => {
    const totals = new Totals(db);
    for (const s of settlements) writeOne(db, totals, s);
    totals.write();
  }).immediate();
}

function writeOne(db: Database, totals: Totals, { record: r, cost, tokens, shortfall, at }: Settlement): void {
  const inserted = db.query(
    `INSERT OR IGNORE INTO usage_log (request_id, at, account_id, org_id, user_id, key_id, key_label, key_prefix, source_ip, endpoint, model,
       upstream_model, channel_id, status, error_code, stream, prompt_tokens, completion_tokens, tokens_estimated, cost, ttfb_ms, total_ms,
       shortfall, error_detail, cached_tokens, cache_write_tokens)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  ).run(r.requestId, at, r.accountId, r.orgId, r.userId, r.keyId, r.keyLabel, r.keyPrefix, r.sourceIp, r.endpoint, r.model, r.upstreamModel,
    r.channelId, r.status, r.errorCode, r.stream ? 1 : 0, r.promptTokens, r.completionTokens, r.tokensEstimated ? 1 : 0, cost, r.ttfbMs,
    r.totalMs, shortfall, r.errorDetail, r.cachedTokens, r.cacheWriteTokens);
  if (inserted.changes === 0 || r.refused) return; // already recorded (never charge twice), or refused (nothing to charge)
  if (cost > 0) {
    const balanceAfter = totals.charge(r.accountId, cost);
    if (balanceAfter !== null) {
      db.query(`INSERT INTO ledger (at, account_id, user_id, kind, amount, balance_after, ref, key_id, actor, note) VALUES (?,?,?,?,?,?,?,?,?,?)`)
        .run(at, r.accountId, r.userId, "charge", -cost, balanceAfter, r.requestId, r.keyId, "relay", r.model);
    }
    // A member's spend in an org counts against their monthly cap there.
    if (r.orgId !== null && r.userId !== null) totals.memberSpend(r.accountId, r.userId, utcMonth(at), cost);
    if (r.keyId !== null) totals.spend(r.keyId, cost);
  }
  if (tokens > 0) totals.addTokens(r.accountId, utcMonth(at), tokens);
  if (r.keyId !== null) totals.used(r.keyId, at);
}

/**
 * One transaction's balance, spend, token and last-used changes, written once per user or key at its end:
 * the same rows and totals as one update per request, with four statements fewer per request. A user's
 * balance is read once, then each charge's `balance_after` follows from it in order, exactly as successive
 * `UPDATE … RETURNING` would give: nothing else writes in between, since the transaction holds the write lock.
 */
class Totals {
  private readonly balances = new Map<number, { balance: number; charged: number } | null>();
  private readonly spent = new Map<number, number>();
  private readonly tokens = new Map<string, { accountId: number; month: string; tokens: number }>();
  private readonly members = new Map<string, { accountId: number; userId: number; month: string; credits: number }>();
  private readonly lastUsed = new Map<number, number>();

  constructor(private readonly db: Database) {}

  /** The balance after charging `cost`, or null when the account no longer exists (nothing is charged then). */
  charge(accountId: number, cost: number): number | null {
    let b = this.balances.get(accountId);
    if (b === undefined) {
      const row = this.db.query<{ credits: number }, [number]>("SELECT credits FROM accounts WHERE id = ?").get(accountId);
      this.balances.set(accountId, (b = row ? { balance: row.credits, charged: 0 } : null));
    }
    if (b === null) return null;
    b.balance -= cost;
    b.charged += cost;
    return b.balance;
  }

  spend(keyId: number, cost: number): void {
    this.spent.set(keyId, (this.spent.get(keyId) ?? 0) + cost);
  }

  memberSpend(accountId: number, userId: number, month: string, credits: number): void {
    const k = `${accountId}:${userId}:${month}`;
    const m = this.members.get(k);
    if (m) m.credits += credits;
    else this.members.set(k, { accountId, userId, month, credits });
  }

  addTokens(accountId: number, month: string, tokens: number): void {
    const k = `${accountId}:${month}`;
    const t = this.tokens.get(k);
    if (t) t.tokens += tokens;
    else this.tokens.set(k, { accountId, month, tokens });
  }

  used(keyId: number, at: number): void {
    this.lastUsed.set(keyId, at); // the last request's time, as successive updates would leave it
  }

  write(): void {
    for (const [accountId, b] of this.balances) {
      // The accounts table's CHECK (credits >= 0) refuses an overdraft here too, rolling the batch back.
      if (b && b.charged > 0) this.db.query("UPDATE accounts SET credits = credits - ? WHERE id = ?").run(b.charged, accountId);
    }
    for (const [keyId, cost] of this.spent) this.db.query("UPDATE api_keys SET spent = spent + ? WHERE id = ?").run(cost, keyId);
    for (const t of this.tokens.values()) {
      this.db.query(`INSERT INTO token_usage (account_id, month, tokens) VALUES (?,?,?)
                ON CONFLICT (account_id, month) DO UPDATE SET tokens = tokens + excluded.tokens`).run(t.accountId, t.month, t.tokens);
    }
    for (const m of this.members.values()) {
      this.db.query(`INSERT INTO member_spend (account_id, user_id, month, credits) VALUES (?,?,?,?)
                ON CONFLICT (account_id, user_id, month) DO UPDATE SET credits = credits + excluded.credits`).run(m.accountId, m.userId, m.month, m.credits);
    }
    for (const [keyId, at] of this.lastUsed) this.db.query("UPDATE api_keys SET last_used_at = ? WHERE id = ?").run(at, keyId);
  }
}

/** Why some settlements could not be written: the batch's error, and each one dropped with its own. */
export type CommitReport = { batchError: string | null; dropped: { requestId: string; error: string }[] };

/**
 * Commits a batch; when it fails, commits each settlement on its own, so one bad row cannot drop the rest.
 * Never throws: what could not be written is reported.
 */
export function commitOrSplit(db: Database, settlements: readonly Settlement[]): CommitReport {
  try {
    commitSettlements(db, settlements);
    return { batchError: null, dropped: [] };
  } catch (err) {
    const dropped: CommitReport["dropped"] = [];
    for (const s of settlements) {
      try {
        commitSettlements(db, [s]);
      } catch (e) {
        dropped.push({ requestId: s.record.requestId, error: String(e) });
      }
    }
    return { batchError: String(err), dropped };
  }
}
