import type { SQL } from "bun";
import { utcMonth } from "../limits/month";
import type { Settlement } from "./settlement";

/*
 * Settlements committed to PostgreSQL: the same rows and rules as commitSettlements for SQLite
 * (settlement.ts), one call of relay_settle (db/pg/migrations/0005) per batch: one round trip and one
 * transaction whatever the batch size, the batch as one JSON parameter, so no batch can run into
 * PostgreSQL's parameter limit and the accounts it locks are held only while the function runs.
 *
 * Idempotent by request id: the usage rows go in first with ON CONFLICT DO NOTHING, and only the rows that
 * went in are charged, so a batch replayed after a crash or a lost connection charges nothing twice.
 */

/** The batch as relay_settle takes it: the usage_log columns, plus tokens, refused and the UTC month of each. */
function settleJson(batch: readonly Settlement[]): string {
  return JSON.stringify(batch.map(({ record: r, cost, tokens, shortfall, at }) => ({
    tokens, refused: r.refused, month: utcMonth(at),
    request_id: r.requestId, at, account_id: r.accountId, org_id: r.orgId, user_id: r.userId, key_id: r.keyId, key_label: r.keyLabel,
    key_prefix: r.keyPrefix, source_ip: r.sourceIp, endpoint: r.endpoint, model: r.model, upstream_model: r.upstreamModel,
    channel_id: r.channelId, status: r.status, error_code: r.errorCode, stream: r.stream, prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens, tokens_estimated: r.tokensEstimated, cost, ttfb_ms: r.ttfbMs, total_ms: r.totalMs,
    shortfall, error_detail: r.errorDetail, cached_tokens: r.cachedTokens, cache_write_tokens: r.cacheWriteTokens,
  })));
}

/** Commits a batch in one transaction, one round trip (relay_settle, migration 0005); throws (everything rolled back) when it fails. */
export async function commitPgSettlements(sql: SQL, batch: readonly Settlement[]): Promise<void> {
  if (batch.length === 0) return;
  await sql.unsafe(`SELECT relay_settle($1::text::jsonb) AS charged`, [settleJson(batch)]);
}

/** Commits a batch; when it fails for its data (not the connection), each settlement alone, so one bad row cannot drop the rest. */
export async function commitPgOrSplit(sql: SQL, batch: readonly Settlement[]): Promise<{ dropped: { requestId: string; error: string }[] }> {
  try {
    await commitPgSettlements(sql, batch);
    return { dropped: [] };
  } catch (err) {
    if (isConnectionError(err) || isTransient(err)) throw err; // the server is away, or a retry will pass: the whole batch waits
    const dropped: { requestId: string; error: string }[] = [];
    for (const s of batch) {
      try {
        await commitPgSettlements(sql, [s]);
      } catch (e) {
        if (isConnectionError(e) || isTransient(e)) throw e;
        dropped.push({ requestId: s.record.requestId, error: String(e) });
      }
    }
    return { dropped };
  }
}

/** A deadlock, a serialization failure or a lock timeout: nothing wrong with the data, so the batch is retried, never dropped. */
function isTransient(err: unknown): boolean {
  const state = String((err as { errno?: unknown } | null)?.errno ?? "");
  return state === "40P01" || state === "40001" || state === "55P03";
}

/**
 * Bun.sql's errors for a server that is not there (refused, closed, timed out), as opposed to one that refused
 * the data; and a server that answers only to say it is not serving: class 08 (connection exception) and
 * 57P01-57P03 (shutting down, crashed, "not yet accepting connections" while it recovers after a restart).
 */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code ?? "";
  const state = String((err as { errno?: unknown } | null)?.errno ?? "");
  return /^ERR_POSTGRES_(CONNECTION|CONNECTION_CLOSED|CONNECTION_REFUSED|CONNECTION_TIMEOUT|IDLE_TIMEOUT|LIFETIME_TIMEOUT|TLS)/.test(code) ||
    /^(08...|57P0[123])$/.test(state) ||
    /ECONNREFUSED|ECONNRESET|Connection closed|connection refused/i.test(String(err));
}
