import { mkdirSync } from "node:fs";
import { openDb } from "../db/client";
import type { Config } from "./config";
import type { AppContext } from "./context";
import { KeyCache } from "./auth/key-cache";
import { loadKeyring } from "./keyring/setup";
import { compileCidrs } from "./net/cidr";
import { SettlementWriter } from "./usage/settlement-writer";
import { RunningRequests } from "./relay/running";
import { ScopeRegistry } from "./auth/scopes";

/** Opens the data dir and database and builds the shared context. `dbPath` overrides the file (tests use `:memory:`). */
export function createContext(config: Config, opts: { dbPath?: string } = {}): AppContext {
  mkdirSync(config.RELAY_DATA_DIR, { recursive: true, mode: 0o700 });
  const db = openDb(opts.dbPath ?? config.dbPath);
  const keyring = loadKeyring(config, db);
  return {
    config,
    db,
    keyring,
    keyCache: new KeyCache(db.$client),
    writer: new SettlementWriter(db.$client, config.RELAY_FLUSH_INTERVAL_MS),
    running: new RunningRequests(),
    trustedProxies: compileCidrs(config.RELAY_TRUSTED_PROXIES),
    scopes: new ScopeRegistry(config.RELAY_SCOPE_ALIASES),
    startedAt: Date.now(),
    ext: {},
  };
}
