import type { SQL as BunSQL } from "bun";
import { and, desc, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { usageLog } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import type { UsageFilter, UsageStore } from "../types";
import { isInt4 } from "./errors";

/** The filter's conditions; null when it names an id no integer column can hold, so no row matches. */
function where(f: UsageFilter): SQL | undefined | null {
  const conds: SQL[] = [];
  for (const id of [f.userId, f.accountId, f.keyId]) if (id !== undefined && !isInt4(id)) return null;
  if (f.userId !== undefined) conds.push(eq(usageLog.userId, f.userId));
  if (f.accountId !== undefined) conds.push(eq(usageLog.accountId, f.accountId));
  if (f.keyId !== undefined) conds.push(eq(usageLog.keyId, f.keyId));
  if (f.from !== undefined) conds.push(gte(usageLog.at, f.from));
  if (f.to !== undefined) conds.push(lt(usageLog.at, f.to));
  if (f.before !== undefined) conds.push(lt(usageLog.id, f.before));
  return conds.length ? and(...conds) : undefined;
}

/**
 * The UTC day of `at`, as SQLite's `strftime('%Y-%m-%d', at / 1000, 'unixepoch')`: `at / 1000` is integer
 * division on both (truncating), and AT TIME ZONE 'UTC' makes it independent of the session's TimeZone.
 */
const day = sql<string>`to_char(to_timestamp(${usageLog.at} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
/** SUM of bigint is numeric and COUNT is bigint: both come back as strings unless mapped. */
const total = (col: SQL | typeof usageLog.cost) => sql<number>`coalesce(sum(${col}), 0)`.mapWith(Number);

export function pgUsage(db: PgDb, client: BunSQL): UsageStore {
  return {
    async list(f, limit) {
      const w = where(f);
      if (w === null) return [];
      return db.select().from(usageLog).where(w).orderBy(desc(usageLog.at), desc(usageLog.id)).limit(limit);
    },
    async daily(f) {
      const w = where(f);
      if (w === null) return [];
      return db.select({
        day,
        requests: sql<number>`count(*)`.mapWith(Number),
        promptTokens: total(usageLog.promptTokens),
        completionTokens: total(usageLog.completionTokens),
        cachedTokens: total(usageLog.cachedTokens),
        cacheWriteTokens: total(usageLog.cacheWriteTokens),
        cost: total(usageLog.cost),
      }).from(usageLog).where(w).groupBy(day).orderBy(day);
    },
    async hourly(keyId, from, to) {
      if (!isInt4(keyId)) return [];
      // SQLite's query has no ORDER BY and yields hours ascending (it groups by sorting); here it is explicit.
      const rows: { h: string; requests: string; tokens: string }[] = await client`
        SELECT (at / 3600000) AS h, count(*) AS requests, coalesce(sum(prompt_tokens + completion_tokens), 0) AS tokens
        FROM usage_log WHERE key_id = ${keyId} AND at >= ${from} AND at < ${to} GROUP BY h ORDER BY h`;
      return rows.map((r) => ({ h: Number(r.h), requests: Number(r.requests), tokens: Number(r.tokens) }));
    },
  };
}
