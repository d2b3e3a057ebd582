import type { Database } from "bun:sqlite";
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
 */
export function recordRequest(ctx: AppContext, hold: Hold | null, r: RequestRecord): number {
  const { cost, tokens } = hold ? settle(hold, r.promptTokens, r.completionTokens) : { cost: 0, tokens: 0 };
  const at = Date.now();
  metricsOf(ctx).observeRequest(r, cost);
  // The access log is off at the default level: one line per request costs measurable throughput.
  if (log.enabled("debug")) {
    log.debug("request", { id: r.requestId, key: r.keyPrefix, ip: r.sourceIp, path: r.endpoint, model: r.model, channel: r.channelId, status: r.status, error: r.errorCode, tokens: r.promptTokens + r.completionTokens, cost, ms: r.totalMs });
  }
  ctx.writer.enqueue((db) => writeSettlement(db, r, cost, tokens, at));
  return cost;
}

function writeSettlement(db: Database, r: RequestRecord, cost: number, tokens: number, at: number): void {
  const inserted = db.query(
    `INSERT OR IGNORE INTO usage_log (request_id, at, user_id, key_id, key_prefix, source_ip, endpoint, model, upstream_model,
       channel_id, status, error_code, stream, prompt_tokens, completion_tokens, tokens_estimated, cost, ttfb_ms, total_ms)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
  ).run(r.requestId, at, r.userId, r.keyId, r.keyPrefix, r.sourceIp, r.endpoint, r.model, r.upstreamModel, r.channelId,
    r.status, r.errorCode, r.stream ? 1 : 0, r.promptTokens, r.completionTokens, r.tokensEstimated ? 1 : 0, cost, r.ttfbMs, r.totalMs);
  if (inserted.changes === 0) return; // already recorded: never charge twice
  if (cost > 0) {
    const row = db.query<{ credits: number }, [number, number]>("UPDATE users SET credits = credits - ? WHERE id = ? RETURNING credits").get(cost, r.userId);
    if (row) {
      db.query(`INSERT INTO ledger (at, user_id, kind, amount, balance_after, ref, key_id, actor, note) VALUES (?,?,?,?,?,?,?,?,?)`)
        .run(at, r.userId, "charge", -cost, row.credits, r.requestId, r.keyId, "relay", r.model);
    }
    if (r.keyId !== null) db.query("UPDATE api_keys SET spent = spent + ? WHERE id = ?").run(cost, r.keyId);
  }
  if (tokens > 0) {
    db.query(`INSERT INTO token_usage (user_id, month, tokens) VALUES (?,?,?)
              ON CONFLICT (user_id, month) DO UPDATE SET tokens = tokens + excluded.tokens`).run(r.userId, utcMonth(at), tokens);
  }
  if (r.keyId !== null) db.query("UPDATE api_keys SET last_used_at = ? WHERE id = ?").run(at, r.keyId);
}
