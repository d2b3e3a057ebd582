import type { Database } from "bun:sqlite";
import type { Batch } from "./batch-writer";
import type { AppContext } from "../context";
import { settle, type Hold } from "../limits/admission";
import { utcMonth } from "../limits/month";
import { metricsOf } from "../metrics/registry";
import { log } from "../log";

/** Everything the usage log keeps about one request. */
export type RequestRecord = {
  requestId: string;
  userId: number;
  keyId: number | null;
  keyPrefix: string;
  sourceIp: string;
  endpoint: string;
  model: string;
  upstreamModel: string;
  channelId: number | null;
  status: number;
  errorCode: string | null;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  tokensEstimated: boolean;
  ttfbMs: number | null;
  totalMs: number;
};

/**
 * Closes a request's accounting exactly once: settles its hold in memory, then queues one write that
 * inserts the usage row and, in the same transaction, the ledger charge, the balance, the key's spend
 * and the month's tokens. The usage row's unique request id makes the write idempotent.
 * Balances, key spend, monthly tokens and last-used times are summed per batch and written once per
 * user or key at its end (see Settlements): the same rows and totals as one update per request, with
 * four statements fewer per request (the settlement writes were the largest cost on the request path).
 */
export function recordRequest(ctx: AppContext, hold: Hold | null, r: RequestRecord): number {
  const { cost, tokens } = hold ? settle(hold, r.promptTokens, r.completionTokens) : { cost: 0, tokens: 0 };
  const at = Date.now();
  metricsOf(ctx).observeRequest(r, cost);
  // The access log is off at the default level: one line per request costs measurable throughput.
  if (log.enabled("debug")) {
    log.debug("request", { id: r.requestId, key: r.keyPrefix, ip: r.sourceIp, path: r.endpoint, model: r.model, channel: r.channelId, status: r.status, error: r.errorCode, tokens: r.promptTokens + r.completionTokens, cost, ms: r.totalMs });
  }
  ctx.writer.enqueue((db, batch) => writeSettlement(db, batch, r, cost, tokens, at));
  return cost;
}

/**
 * One batch's balance, spend, token and last-used changes. A user's balance is read once, then each
 * charge's `balance_after` follows from it in order, exactly as successive `UPDATE … RETURNING` would
 * give: nothing else writes between them, since the batch holds the write lock from its first insert.
 */
class Settlements {
  private readonly balances = new Map<number, { balance: number; charged: number } | null>();
  private readonly spent = new Map<number, number>();
  private readonly tokens = new Map<string, { userId: number; month: string; tokens: number }>();
  private readonly lastUsed = new Map<number, number>();

  constructor(private readonly db: Database) {}

  /** The balance after charging `cost`, or null when the user no longer exists (nothing is charged then). */
  charge(userId: number, cost: number): number | null {
    let b = this.balances.get(userId);
    if (b === undefined) {
      const row = this.db.query<{ credits: number }, [number]>("SELECT credits FROM users WHERE id = ?").get(userId);
      this.balances.set(userId, (b = row ? { balance: row.credits, charged: 0 } : null));
    }
    if (b === null) return null;
    b.balance -= cost;
    b.charged += cost;
    return b.balance;
  }

  spend(keyId: number, cost: number): void {
    this.spent.set(keyId, (this.spent.get(keyId) ?? 0) + cost);
  }

  addTokens(userId: number, month: string, tokens: number): void {
    const k = `${userId}:${month}`;
    const t = this.tokens.get(k);
    if (t) t.tokens += tokens;
    else this.tokens.set(k, { userId, month, tokens });
  }

  used(keyId: number, at: number): void {
    this.lastUsed.set(keyId, at); // the last request's time, as successive updates would leave it
  }

  write(): void {
    for (const [userId, b] of this.balances) {
      if (b && b.charged > 0) this.db.query("UPDATE users SET credits = credits - ? WHERE id = ?").run(b.charged, userId);
    }
    for (const [keyId, cost] of this.spent) this.db.query("UPDATE api_keys SET spent = spent + ? WHERE id = ?").run(cost, keyId);
    for (const t of this.tokens.values()) {
      this.db.query(`INSERT INTO token_usage (user_id, month, tokens) VALUES (?,?,?)
                ON CONFLICT (user_id, month) DO UPDATE SET tokens = tokens + excluded.tokens`).run(t.userId, t.month, t.tokens);
    }
    for (const [keyId, at] of this.lastUsed) this.db.query("UPDATE api_keys SET last_used_at = ? WHERE id = ?").run(at, keyId);
  }
}

/** Identifies this module's Settlements in a batch. */
const SETTLEMENTS = {};

function writeSettlement(db: Database, batch: Batch, r: RequestRecord, cost: number, tokens: number, at: number): void {
  const inserted = db.query(
    `INSERT OR IGNORE INTO usage_log (request_id, at, user_id, key_id, key_prefix, source_ip, endpoint, model, upstream_model,
       channel_id, status, error_code, stream, prompt_tokens, completion_tokens, tokens_estimated, cost, ttfb_ms, total_ms)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  ).run(r.requestId, at, r.userId, r.keyId, r.keyPrefix, r.sourceIp, r.endpoint, r.model, r.upstreamModel, r.channelId,
    r.status, r.errorCode, r.stream ? 1 : 0, r.promptTokens, r.completionTokens, r.tokensEstimated ? 1 : 0, cost, r.ttfbMs, r.totalMs);
  if (inserted.changes === 0) return; // already recorded: never charge twice
  const s = batch.shared(SETTLEMENTS, () => new Settlements(db), (x) => x.write());
  if (cost > 0) {
    const balanceAfter = s.charge(r.userId, cost);
    if (balanceAfter !== null) {
      db.query(`INSERT INTO ledger (at, user_id, kind, amount, balance_after, ref, key_id, actor, note) VALUES (?,?,?,?,?,?,?,?,?)`)
        .run(at, r.userId, "charge", -cost, balanceAfter, r.requestId, r.keyId, "relay", r.model);
    }
    if (r.keyId !== null) s.spend(r.keyId, cost);
  }
  if (tokens > 0) s.addTokens(r.userId, utcMonth(at), tokens);
  if (r.keyId !== null) s.used(r.keyId, at);
}
