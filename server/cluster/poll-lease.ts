import type { RedisClient } from "bun";
import { within } from "../limits/redis-script";
import type { PollClaim } from "../objects/poller";

/**
 * Cluster mode's poll lease: SET NX with an expiry, so one instance at a time polls an object and another
 * takes over when a dead instance's lease runs out. A Redis that does not answer in 500 ms rejects, and the
 * poller then polls anyway (settling stays exactly once; only a duplicate upstream call is risked).
 */
export function redisPollClaim(redis: RedisClient, prefix: string, instanceId: string): PollClaim {
  return async (key, ttlMs) => (await within(redis.send("SET", [`${prefix}${key}`, instanceId, "NX", "PX", String(ttlMs)]), 500, "poll lease")) === "OK";
}
