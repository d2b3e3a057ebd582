import { z } from "zod";
import type { UsageRow } from "../../db/schema";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { getKey } from "../keys/service";
import { ISO_DATE_HINT, strictObject } from "../http/strict-object";

const DAY_MS = 86_400_000;
/** Without `from`, this many days before `to` (or now). */
export const DEFAULT_USAGE_DAYS = 30;

const datetime = z.iso.datetime({ offset: true }).transform((v) => Date.parse(v));
const date = z.iso.date().transform((v) => Date.parse(v));
const HINT = { error: ISO_DATE_HINT };

/**
 * The query of GET /v1/usage. `from` is inclusive, `to` exclusive; a bare date as `to` means the end of
 * that UTC day, so `from=2025-01-01&to=2025-01-31` covers all of January. Strict: unknown parameters are a 400.
 */
export const usageQuery = strictObject({
  from: z.union([datetime, date], HINT).optional(),
  to: z.union([datetime, date.transform((t) => t + DAY_MS)], HINT).optional(),
  key_id: z.string().regex(/^[1-9][0-9]{0,15}$/, "must be a key id").transform(Number).optional(),
  limit: z.string().regex(/^[0-9]{1,4}$/, "must be an integer").transform(Number).pipe(z.number().int().min(1).max(1000)).optional(),
});
export type UsageQuery = z.input<typeof usageQuery>;

/** A usage row as its owner sees it: no user id, channel, upstream model name or operator's error detail. */
function publicUsage(r: UsageRow) {
  return {
    id: r.id, requestId: r.requestId, at: new Date(r.at).toISOString(), userId: r.userId, keyId: r.keyId, keyLabel: r.keyLabel, keyPrefix: r.keyPrefix,
    sourceIp: r.sourceIp, endpoint: r.endpoint, model: r.model, status: r.status, errorCode: r.errorCode,
    stream: r.stream, promptTokens: r.promptTokens, completionTokens: r.completionTokens,
    cachedTokens: r.cachedTokens, cacheWriteTokens: r.cacheWriteTokens,
    tokensEstimated: r.tokensEstimated, cost: r.cost, shortfall: r.shortfall, ttfbMs: r.ttfbMs, totalMs: r.totalMs,
  };
}

export type { DayTotal } from "../stores/types";

/**
 * An account's usage between two instants (a user's own, or an org's): the newest rows first (at most
 * `limit`, default 100, max 1000) and totals per UTC day over the whole range, oldest day first. A key id
 * that is not the account's is a 404.
 */
export async function accountUsage(ctx: AppContext, accountId: number, raw: UsageQuery, now = Date.now()) {
  const q = usageQuery.parse(raw);
  const to = q.to ?? null;
  const from = q.from ?? (to ?? now) - DEFAULT_USAGE_DAYS * DAY_MS;
  if (to !== null && from >= to) throw new ApiError("invalid_request", "from must be before to.", "from");
  if (q.key_id !== undefined) await getKey(ctx, q.key_id, accountId);
  const limit = q.limit ?? 100;
  await ctx.writer.flush(); // the caller's own latest requests
  const f = { accountId, from, ...(to !== null ? { to } : {}), ...(q.key_id !== undefined ? { keyId: q.key_id } : {}) };
  const [rows, daily] = await Promise.all([ctx.stores.usage.list(f, limit + 1), ctx.stores.usage.daily(f)]);

  const total = { requests: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, cost: 0 };
  for (const d of daily) {
    total.requests += d.requests;
    total.promptTokens += d.promptTokens;
    total.completionTokens += d.completionTokens;
    total.cachedTokens += d.cachedTokens;
    total.cacheWriteTokens += d.cacheWriteTokens;
    total.cost += d.cost;
  }
  return {
    object: "usage",
    from: new Date(from).toISOString(),
    to: to === null ? null : new Date(to).toISOString(),
    keyId: q.key_id ?? null,
    data: rows.slice(0, limit).map(publicUsage),
    hasMore: rows.length > limit,
    daily,
    total,
  };
}
