import { mkdirSync } from "node:fs";
import { openDb } from "../db/client";
import type { Config } from "./config";
import type { AppContext } from "./context";
import { KeyCache, SqliteAuthEpoch } from "./auth/key-cache";
import { loadKeyring } from "./keyring/setup";
import { compileCidrs } from "./net/cidr";
import { SettlementWriter } from "./usage/settlement-writer";
import { RunningRequests } from "./relay/running";
import { ScopeRegistry } from "./auth/scopes";
import { EmbeddedAdmission } from "./limits/embedded";
import { sqliteLiveSource } from "./limits/accounts";
import { Metrics } from "./metrics/registry";
import { ChannelRegistry } from "./channels/registry";
import { PriceBook } from "./billing/prices";
import { LoginLimiter } from "./sessions/limiter";
import { loadSessionSecret } from "./sessions/secret";
import { authenticateSession } from "./sessions/verifier";
import { FileJournal, lockJournal, noJournal, recoverJournal, sqliteRecoveryTarget, type RecoveryTarget, type RequestJournal } from "./usage/journal";
import type { SettlementSink } from "./usage/sink";
import { join } from "node:path";
import { sqliteStores } from "./stores/sqlite";
import { channelAad, keyAad } from "./keyring/aad";
import { ObjectPoller } from "./objects/poller";
import { startWebhooks } from "./webhooks/runtime";

/**
 * Opens the data dir and database and builds every service, in dependency order. `dbPath` overrides the
 * file (tests use `:memory:`). The services that read the database at start (channels, prices, the session
 * secret) do it here, so a keyring that cannot decrypt the data stops the start rather than a request.
 */
export async function createContext(config: Config, opts: { dbPath?: string } = {}): Promise<AppContext> {
  mkdirSync(config.RELAY_DATA_DIR, { recursive: true, mode: 0o700 });
  // Loaded only when used: embedded mode never pulls in the PostgreSQL and Redis code.
  if (config.mode !== "embedded") return (await import("./cluster/bootstrap")).createPgContext(config);
  const dbPath = opts.dbPath ?? config.dbPath;
  const db = openDb(dbPath);
  const keyring = loadKeyring(config, db);
  const writer = new SettlementWriter(db.$client, config.RELAY_FLUSH_INTERVAL_MS);
  const base: Omit<AppContext, "admission" | "metrics" | "channels" | "prices" | "sessions" | "close" | "poller" | "webhooks"> = {
    config,
    mode: "embedded",
    db,
    cluster: null,
    stores: sqliteStores(db, { key: keyAad, channel: channelAad }),
    keyring,
    keyCache: new KeyCache(new SqliteAuthEpoch(db.$client)),
    writer,
    journal: dbPath === ":memory:" ? noJournal : await openJournal(join(config.RELAY_DATA_DIR, "journal"), sqliteRecoveryTarget(db.$client), writer),
    running: new RunningRequests(),
    trustedProxies: compileCidrs(config.RELAY_TRUSTED_PROXIES),
    scopes: new ScopeRegistry(config.RELAY_SCOPE_ALIASES),
    startedAt: Date.now(),
    verifySession: authenticateSession,
  };
  // The stateful services read the database through the context they are part of: built on it, in place.
  const ctx = base as AppContext; // completed just below
  ctx.admission = new EmbeddedAdmission(ctx, sqliteLiveSource(db, () => writer.flushSync()));
  ctx.metrics = new Metrics(ctx);
  ctx.prices = new PriceBook(ctx);
  ctx.channels = new ChannelRegistry(ctx);
  await Promise.all([ctx.prices.reload(), ctx.channels.reload()]);
  ctx.sessions = { secret: await loadSessionSecret(ctx), limiter: new LoginLimiter() };
  ctx.poller = new ObjectPoller(ctx, { responses: config.RELAY_POLL_INTERVAL_MS, batches: config.RELAY_BATCH_POLL_INTERVAL_MS });
  ctx.poller.start();
  ctx.webhooks = startWebhooks(ctx);
  ctx.close = async () => {
    ctx.poller.stop();
    await ctx.webhooks.stop();
    ctx.writer.close(); // flushes first
    ctx.journal.close(); // whatever settled is committed now: its segments go
    db.$client.close();
  };
  return ctx;
}

/**
 * Replays what a killed predecessor journaled and did not commit (before anything reads a balance), then
 * starts this process's journal. Refuses a data dir another live relay is using.
 */
export async function openJournal(dir: string, target: RecoveryTarget, writer: SettlementSink): Promise<RequestJournal> {
  const unlock = lockJournal(dir);
  try {
    const { nextSegment } = await recoverJournal(dir, target);
    return new FileJournal(dir, writer, nextSegment, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}
