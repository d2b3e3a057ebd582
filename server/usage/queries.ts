import type { AppContext } from "../context";

export type UsageFilter = { userId?: number; accountId?: number; keyId?: number; from?: number; to?: number; before?: number; limit?: number };

const camel = (r: Record<string, unknown>) => ({
  id: r.id, requestId: r.request_id, at: new Date(r.at as number).toISOString(), accountId: r.account_id, orgId: r.org_id, userId: r.user_id,
  keyId: r.key_id, keyLabel: r.key_label,
  keyPrefix: r.key_prefix, sourceIp: r.source_ip, endpoint: r.endpoint, model: r.model, upstreamModel: r.upstream_model,
  channelId: r.channel_id, status: r.status, errorCode: r.error_code, stream: r.stream === 1,
  promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens, cachedTokens: r.cached_tokens, cacheWriteTokens: r.cache_write_tokens,
  tokensEstimated: r.tokens_estimated === 1,
  cost: r.cost, shortfall: r.shortfall, ttfbMs: r.ttfb_ms, totalMs: r.total_ms, errorDetail: r.error_detail,
});
export type UsageView = ReturnType<typeof camel>;

function where(f: UsageFilter): { sql: string; args: (number | string)[] } {
  const clauses: string[] = [];
  const args: number[] = [];
  if (f.userId !== undefined) clauses.push("user_id = ?"), args.push(f.userId);
  if (f.accountId !== undefined) clauses.push("account_id = ?"), args.push(f.accountId);
  if (f.keyId !== undefined) clauses.push("key_id = ?"), args.push(f.keyId);
  if (f.from !== undefined) clauses.push("at >= ?"), args.push(f.from);
  if (f.to !== undefined) clauses.push("at < ?"), args.push(f.to);
  if (f.before !== undefined) clauses.push("id < ?"), args.push(f.before);
  return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", args };
}

/** Usage rows, newest first. Flushes pending writes first so callers see their own latest requests. */
export function listUsage(ctx: AppContext, f: UsageFilter): UsageView[] {
  ctx.writer.flush();
  const w = where(f);
  const limit = Math.min(Math.max(f.limit ?? 100, 1), 10_000);
  return ctx.db.$client.query(`SELECT * FROM usage_log ${w.sql} ORDER BY id DESC LIMIT ${limit}`).all(...w.args).map((r) => camel(r as Record<string, unknown>));
}

/** Requests and tokens per hour for one key over the last `hours`, every hour present (zeros included). */
export function keyTimeline(ctx: AppContext, keyId: number, hours: number) {
  ctx.writer.flush();
  const hourMs = 3_600_000;
  const end = Math.floor(Date.now() / hourMs) * hourMs + hourMs;
  const start = end - hours * hourMs;
  const rows = ctx.db.$client.query<{ h: number; requests: number; tokens: number }, [number, number, number]>(
    `SELECT (at / ${hourMs}) AS h, count(*) AS requests, sum(prompt_tokens + completion_tokens) AS tokens
     FROM usage_log WHERE key_id = ? AND at >= ? AND at < ? GROUP BY h`,
  ).all(keyId, start, end);
  const byHour = new Map(rows.map((r) => [r.h, r]));
  const out: { hour: string; requests: number; tokens: number }[] = [];
  for (let t = start; t < end; t += hourMs) {
    const r = byHour.get(t / hourMs);
    out.push({ hour: new Date(t).toISOString(), requests: r?.requests ?? 0, tokens: r?.tokens ?? 0 });
  }
  return out;
}
