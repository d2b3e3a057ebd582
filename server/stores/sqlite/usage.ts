import { and, desc, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { usageLog } from "../../../db/schema";
import type { Db } from "../../../db/client";
import type { UsageFilter, UsageStore } from "../types";

function where(f: UsageFilter): SQL | undefined {
  const conds: SQL[] = [];
  if (f.userId !== undefined) conds.push(eq(usageLog.userId, f.userId));
  if (f.accountId !== undefined) conds.push(eq(usageLog.accountId, f.accountId));
  if (f.keyId !== undefined) conds.push(eq(usageLog.keyId, f.keyId));
  if (f.from !== undefined) conds.push(gte(usageLog.at, f.from));
  if (f.to !== undefined) conds.push(lt(usageLog.at, f.to));
  if (f.before !== undefined) conds.push(lt(usageLog.id, f.before));
  return conds.length ? and(...conds) : undefined;
}

export function sqliteUsage(db: Db): UsageStore {
  return {
    async list(f, limit) {
      return db.select().from(usageLog).where(where(f)).orderBy(desc(usageLog.at), desc(usageLog.id)).limit(limit).all();
    },
    async daily(f) {
      const day = sql<string>`strftime('%Y-%m-%d', ${usageLog.at} / 1000, 'unixepoch')`;
      return db.select({
        day,
        requests: sql<number>`count(*)`,
        promptTokens: sql<number>`coalesce(sum(${usageLog.promptTokens}), 0)`,
        completionTokens: sql<number>`coalesce(sum(${usageLog.completionTokens}), 0)`,
        cachedTokens: sql<number>`coalesce(sum(${usageLog.cachedTokens}), 0)`,
        cacheWriteTokens: sql<number>`coalesce(sum(${usageLog.cacheWriteTokens}), 0)`,
        cost: sql<number>`coalesce(sum(${usageLog.cost}), 0)`,
      }).from(usageLog).where(where(f)).groupBy(day).orderBy(day).all();
    },
    async hourly(keyId, from, to) {
      return db.$client.query<{ h: number; requests: number; tokens: number }, [number, number, number]>(
        `SELECT (at / 3600000) AS h, count(*) AS requests, coalesce(sum(prompt_tokens + completion_tokens), 0) AS tokens
         FROM usage_log WHERE key_id = ? AND at >= ? AND at < ? GROUP BY h`,
      ).all(keyId, from, to);
    },
  };
}
