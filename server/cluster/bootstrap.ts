import { RedisClient } from "bun";
import { join } from "node:path";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Config } from "../config";
import type { AppContext } from "../context";
import { openPg } from "../../db/pg/client";
import { pgStores } from "../stores/pg";
import { channelAad, keyAad } from "../keyring/aad";
import { loadSharedKeyring } from "../keyring/setup";
import { KeyCache } from "../auth/key-cache";
import { PgSettlementWriter } from "../usage/pg-writer";
import { RunningRequests } from "../relay/running";
import { compileCidrs } from "../net/cidr";
import { ScopeRegistry } from "../auth/scopes";
import { authenticateSession } from "../sessions/verifier";
import { Metrics } from "../metrics/registry";
import { PriceBook } from "../billing/prices";
import { ChannelRegistry } from "../channels/registry";
import { loadSessionSecret } from "../sessions/secret";
import { LoginLimiter } from "../sessions/limiter";
import { openJournal } from "../bootstrap";
import { log } from "../log";
import { ClusterAdmission } from "./admission";
import { ChangeWatcher, PgAuthEpoch } from "./changes";
import { Instances } from "./instances";
import { claimDatabase } from "./lock";
import { pgRecoveryTarget } from "./recovery";
import { HoldSweeper } from "./sweeper";
import { fenceAfterPause } from "./fence";
import { ObjectPoller } from "../objects/poller";
import { startWebhooks } from "../webhooks/runtime";
import { redisPollClaim } from "./poll-lease";
import { requestIdPrefix } from "../http/request-id";
import type { ClusterServices } from "./services";
import { LocalSlotLimiter } from "../limits/local-slots";
import { RedisSlotLimiter, SLOT_REDIS_OPTIONS, checkEvictionPolicy } from "../limits/redis-slots";
import { FailoverSlotLimiter } from "../limits/failover-slots";
import type { Settlement } from "../usage/settlement";
import type { SlotRequest } from "../limits/slots";

/** A database URL as it may be shown: host, port and database, never the user's password. */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}

/** The slots a journaled request may have held (the account's, and a member's when it had one); releasing one it did not hold is harmless. */
function recoveredSlots(s: Settlement): SlotRequest {
  const r = s.record;
  return {
    requestId: r.requestId,
    slots: [
      { id: `account:${r.accountId}`, cap: 0, scope: "account" },
      ...(r.userId !== null ? [{ id: `member:${r.accountId}:${r.userId}`, cap: 0, scope: "member" as const }] : []),
    ],
    rates: [],
  };
}

/**
 * PostgreSQL mode (RELAY_DATABASE_URL: one instance) and cluster mode (with RELAY_REDIS_URL: any number):
 * the same services as embedded mode over PostgreSQL stores, a PostgreSQL settlement sink behind the local
 * journal, ClusterAdmission, and what lets instances share one database: the instance row and heartbeat,
 * the change watcher, the hold sweeper and, in cluster mode, Redis for slots and rate windows.
 */
export async function createPgContext(config: Config): Promise<AppContext> {
  const mode = config.mode === "cluster" ? "cluster" : "postgres";
  const ttl = config.RELAY_LEASE_TTL_MS;
  const { sql, db } = await openPg(config.RELAY_DATABASE_URL!, { max: config.RELAY_DATABASE_POOL }).catch((err: unknown) => {
    throw new Error(`cannot open the PostgreSQL database ${where(config.RELAY_DATABASE_URL!)} (RELAY_DATABASE_URL): ${(err as Error)?.message ?? err}; check that the server is running and the URL, user and password are right`);
  });
  const undo: (() => Promise<unknown> | unknown)[] = [() => sql.close({ timeout: 1 })];
  const fail = async (err: unknown) => {
    for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => {});
    throw err;
  };
  try {
    undo.push(await claimDatabase(sql, mode));
    const stores = pgStores(db, sql, { key: keyAad, channel: channelAad });
    const keyring = await loadSharedKeyring(config, stores.settings);
    const writer = new PgSettlementWriter(sql, config.RELAY_FLUSH_INTERVAL_MS);
    const instances = new Instances(sql, mode, ttl);

    let redis: RedisClient | null = null;
    let limiter: ClusterServices["limiter"];
    let eviction: ClusterServices["eviction"] = null;
    let redisSlots: RedisSlotLimiter | null = null;
    if (mode === "cluster") {
      redis = new RedisClient(config.RELAY_REDIS_URL!, SLOT_REDIS_OPTIONS);
      const client = redis;
      undo.push(() => client.close());
      // Commands fail at once while disconnected (no offline queue, so a Redis outage costs no latency);
      // connect first, or the start-up checks would always find it away.
      await Promise.race([client.connect(), Bun.sleep(2000)]).catch(() => {});
      const checked = await checkEvictionPolicy(redis).catch((err: unknown) => ({ policy: "unknown", safe: false, message: `Redis is unreachable at start (${String(err)}); running on per-instance shares until it answers` }));
      eviction = checked;
      if (!checked.safe) log.warn("Redis may drop concurrency leases and rate windows", { policy: checked.policy, advice: checked.message });
      const slots = new RedisSlotLimiter(redis, { leaseTtlMs: ttl, prefix: config.RELAY_REDIS_PREFIX });
      redisSlots = slots;
      const failover = new FailoverSlotLimiter(
        slots,
        new LocalSlotLimiter({ share: () => instances.liveCount }),
        {
          mode: config.RELAY_REDIS_FAILURE,
          probe: () => slots.ping(),
          onChange: (degraded: boolean) => {
            instances.redisOk = !degraded;
            if (degraded) log.warn("Redis is unreachable: admitting on per-instance shares of each limit", { failure: config.RELAY_REDIS_FAILURE });
            else log.info("Redis is back: limits are shared across instances again");
          },
        },
      );
      undo.push(() => failover.close());
      limiter = failover;
    } else {
      limiter = new LocalSlotLimiter({});
    }

    // A killed predecessor's requests are settled from its journal before anything is served; their Redis
    // leases go with them, so its slots are free at once rather than after a lease TTL.
    const releaseSlots = async (batch: Settlement[]) => {
      const slots = redisSlots;
      if (!slots) return;
      await Promise.all(batch.map((s) => slots.release(recoveredSlots(s), 0).catch(() => {})));
    };
    const journal = await openJournal(join(config.RELAY_DATA_DIR, "journal"), pgRecoveryTarget(sql, releaseSlots), writer);
    undo.push(() => journal.close());
    // The previous process on this data dir is dead (the journal lock is ours): its holds that the journal
    // did not cover go now, with their slots, instead of when its heartbeat's lease runs out.
    const sweeper = new HoldSweeper(sql, ttl);
    const idFile = join(config.RELAY_DATA_DIR, "instance-id");
    const [previous, previousIds] = existsSync(idFile) ? readFileSync(idFile, "utf8").trim().split("\n") : [];
    if (previous) await releaseSlots(await sweeper.sweepInstance(previous));
    // Slots it took but had not yet held or journaled: found by its request ids' per-process stem.
    if (previousIds && redisSlots) {
      const dropped = await redisSlots.dropLeasesOf(previousIds).catch(() => 0);
      if (dropped > 0) log.warn("freed the concurrency slots a killed predecessor on this data dir left", { slots: dropped });
    }
    await instances.register(`${config.RELAY_HOST}:${config.RELAY_PORT}`);
    writeFileSync(idFile, `${instances.id}\n${requestIdPrefix()}\n`, { mode: 0o600 });
    undo.push(() => instances.stop());

    const watcher = new ChangeWatcher(sql, async () => {
      await Promise.all([ctx.prices.reload(), ctx.channels.reload()]);
    }, () => ctx.keyCache.poll());
    const base: Omit<AppContext, "admission" | "metrics" | "channels" | "prices" | "sessions" | "close" | "poller" | "webhooks"> = {
      config,
      mode,
      db: null,
      cluster: { sql, instances, sweeper, watcher, limiter, redis, eviction },
      stores,
      keyring,
      keyCache: new KeyCache(new PgAuthEpoch(watcher)),
      writer,
      journal,
      running: new RunningRequests(),
      trustedProxies: compileCidrs(config.RELAY_TRUSTED_PROXIES),
      scopes: new ScopeRegistry(config.RELAY_SCOPE_ALIASES),
      startedAt: Date.now(),
      verifySession: authenticateSession,
    };
    const ctx = base as AppContext;
    const admission = new ClusterAdmission(ctx, sql, limiter, instances.id, ttl);
    ctx.admission = admission;
    ctx.metrics = new Metrics(ctx);
    ctx.prices = new PriceBook(ctx);
    ctx.channels = new ChannelRegistry(ctx);
    await Promise.all([ctx.prices.reload(), ctx.channels.reload()]);
    ctx.sessions = { secret: await loadSessionSecret(ctx), limiter: new LoginLimiter() };
    await watcher.start();
    sweeper.start();
    const stopFence = fenceAfterPause(ctx.running, ttl);
    // One instance at a time polls each object (a Redis lease); with Redis away, every instance may (settling stays exactly once).
    const claim = redis ? redisPollClaim(redis, config.RELAY_REDIS_PREFIX, instances.id) : undefined;
    ctx.poller = new ObjectPoller(ctx, { responses: config.RELAY_POLL_INTERVAL_MS, batches: config.RELAY_BATCH_POLL_INTERVAL_MS }, claim);
    ctx.poller.start();
    ctx.webhooks = startWebhooks(ctx);
    ctx.close = async () => {
      ctx.poller.stop();
      await ctx.webhooks.stop();
      stopFence();
      watcher.stop();
      sweeper.stop();
      admission.close();
      await writer.close(); // flushes first (waits for PostgreSQL; the journal keeps what it cannot reach)
      journal.close();
      await instances.stop();
      if (mode === "cluster") (limiter as FailoverSlotLimiter).close();
      redis?.close();
      await sql.close({ timeout: 1 });
    };
    return ctx;
  } catch (err) {
    return fail(err);
  }
}
