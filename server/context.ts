import type { Config, Mode } from "./config";
import type { Db } from "../db/client";
import type { Keyring } from "./keyring/keyring";
import type { KeyCache } from "./auth/key-cache";
import type { SettlementSink } from "./usage/sink";
import type { Cidr } from "./net/cidr";
import type { RunningRequests } from "./relay/running";
import type { ScopeRegistry } from "./auth/scopes";
import type { Admission } from "./limits/port";
import type { Metrics } from "./metrics/registry";
import type { ChannelRegistry } from "./channels/registry";
import type { PriceBook } from "./billing/prices";
import type { SessionState } from "./sessions/state";
import type { SessionVerifier } from "./auth/authenticate";
import type { RequestJournal } from "./usage/journal";
import type { Stores } from "./stores/types";
import type { ClusterServices } from "./cluster/services";
import type { ObjectPoller } from "./objects/poller";
import type { WebhookRuntime } from "./webhooks/runtime";

/**
 * Every long-lived service, typed, built once in one place (`createContext`, server/bootstrap.ts) and passed
 * explicitly to routes and services. Nothing is created lazily behind a getter, so what a server holds is
 * read here, and two servers in one process (the tests) never share state.
 */
export type AppContext = {
  config: Config;
  /** embedded (SQLite), postgres (one instance on PostgreSQL) or cluster (PostgreSQL and Redis). */
  mode: Mode;
  /** The embedded database (null on PostgreSQL); services read and write through the stores, whatever the mode. */
  db: Db | null;
  /** PostgreSQL and cluster modes: instances, the change watcher, the hold sweeper, the slot limiter. */
  cluster: ClusterServices | null;
  /** Follows prepaid objects (background responses) until they end, and settles them (server/objects/poller.ts). */
  poller: ObjectPoller;
  /** Sends queued webhook deliveries and checks balances for credits.low (server/webhooks/runtime.ts). */
  webhooks: WebhookRuntime;
  /** After the servers stopped: flushes settlements, closes the journal and the database connections. */
  close(): Promise<void>;
  stores: Stores;
  keyring: Keyring;
  keyCache: KeyCache;
  writer: SettlementSink;
  /** Admitted requests and their settlements, appended before the answer completes, so a kill -9 loses none. */
  journal: RequestJournal;
  /** Requests in flight, for revocations that must reach them (server/auth/revocation.ts). */
  running: RunningRequests;
  trustedProxies: Cidr[];
  /** Scope names, with RELAY_SCOPE_ALIASES. */
  scopes: ScopeRegistry;
  startedAt: number;
  /** Admission and settlement: live balances, holds, slots, spend and rate-limit windows (limits/port.ts). */
  admission: Admission;
  metrics: Metrics;
  /** Enabled channels with their decrypted keys and breakers, reloaded on every channel write. */
  channels: ChannelRegistry;
  prices: PriceBook;
  /** The session signing secret and the login limiter. */
  sessions: SessionState;
  /** Checks a session JWT presented as a Bearer token (server/sessions/verifier.ts); kept here so auth needs no JWT code. */
  verifySession: SessionVerifier;
};
