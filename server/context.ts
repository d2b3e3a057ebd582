import type { Config } from "./config";
import type { Db } from "../db/client";
import type { Keyring } from "./keyring/keyring";
import type { KeyCache } from "./auth/key-cache";
import type { SettlementWriter } from "./usage/settlement-writer";
import type { Cidr } from "./net/cidr";
import type { RunningRequests } from "./relay/running";
import type { ScopeRegistry } from "./auth/scopes";

/**
 * Everything a service needs, passed explicitly. Built once by `createContext` (server/bootstrap.ts);
 * later features hang their long-lived state here too.
 */
export type AppContext = {
  config: Config;
  db: Db;
  keyring: Keyring;
  keyCache: KeyCache;
  writer: SettlementWriter;
  /** Requests in flight, for revocations that must reach them (server/auth/revocation.ts). */
  running: RunningRequests;
  trustedProxies: Cidr[];
  /** Scope names, with RELAY_SCOPE_ALIASES. */
  scopes: ScopeRegistry;
  startedAt: number;
  /** Extension slots filled by feature modules (relay, limits, sessions). */
  ext: Record<string, unknown>;
};
