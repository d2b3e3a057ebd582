import type { AppContext } from "../context";

const within = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, Bun.sleep(ms).then(() => { throw new Error(`no answer within ${ms} ms`); })]);

/** True while Redis is unreachable and limits run on per-instance shares. */
export function redisDegraded(ctx: AppContext): boolean {
  const l = ctx.cluster?.limiter;
  return !!l && "degraded" in l && l.degraded === true;
}

/**
 * The cluster as `relay admin health` shows it: the mode, every instance with its heartbeat, whether this
 * instance reaches PostgreSQL and Redis, and whether it is degraded (Redis away: per-instance shares;
 * PostgreSQL away: metered requests refused with 503, settlements waiting in the journal).
 */
export async function clusterHealth(ctx: AppContext): Promise<Record<string, unknown>> {
  const c = ctx.cluster;
  if (!c) return { mode: ctx.mode };
  const pg = await within(c.sql`SELECT 1`, 1000).then(() => "reachable", (e) => `unreachable (${String((e as Error).message ?? e)})`);
  const redis = c.redis
    ? await within(c.redis.send("PING", []), 1000).then(() => "reachable", (e) => `unreachable (${String((e as Error).message ?? e)})`)
    : "not used (PostgreSQL mode: one instance)";
  const instances = await within(c.instances.list(), 1000).catch(() => []);
  const now = Date.now();
  const degraded = redisDegraded(ctx) || pg !== "reachable";
  return {
    mode: ctx.mode,
    status: degraded ? "degraded" : "ok",
    instance: c.instances.id,
    postgres: pg,
    redis,
    ...(c.eviction ? { redisEvictionPolicy: `${c.eviction.policy}${c.eviction.safe ? "" : ` (unsafe: ${c.eviction.message})`}` } : {}),
    limits: redisDegraded(ctx) ? `per-instance shares (Redis unreachable; RELAY_REDIS_FAILURE=${ctx.config.RELAY_REDIS_FAILURE})` : ctx.mode === "cluster" ? "shared through Redis" : "this instance's memory",
    holdsSweptForDeadInstances: c.sweeper.swept,
    instances: instances.map((i) => ({
      id: i.id.slice(0, 8), self: i.self, listen: i.listen, host: i.host, pid: i.pid, version: i.version,
      state: i.stoppedAt !== null ? "stopped" : i.alive ? "alive" : "dead (no heartbeat)",
      heartbeat: `${Math.max(0, Math.round((now - i.heartbeatAt) / 100) / 10)} s ago`, redis: i.redisOk ? "ok" : "unreachable",
    })),
  };
}
