import type { Database } from "bun:sqlite";
import type { AccountRow, ApiKeyRow, MembershipRow, UserRow } from "../../db/schema";
import { compileCidrs, type Cidr } from "../net/cidr";
import { expandScopes, intersect, type Scope } from "./scopes";
import { ROLE_SCOPES } from "../accounts/roles";

/** A key with everything authentication and admission read about it, resolved once. */
export type CachedKey = {
  key: ApiKeyRow;
  /** The account the key charges. */
  account: AccountRow;
  /** The key's owner (personal), member (member key) or creator (service key; may be null). */
  user: UserRow | null;
  /** For a member key: the creator's membership of the org, or null when they are no longer a member. */
  membership: MembershipRow | null;
  cidrs: Cidr[];
  /** The key's own scopes, narrowed by the member's role for a member key. */
  scopes: Set<Scope>;
  /** The models the key may use: its own list and the org's, both applying; null = every model. */
  models: Set<string> | null;
};

/** Builds a cache entry from the rows (narrowing scopes and models as the key's kind says). */
export function cachedKey(key: ApiKeyRow, account: AccountRow, user: UserRow | null, membership: MembershipRow | null): CachedKey {
  let scopes = expandScopes(key.scopes);
  if (key.kind === "member") scopes = membership ? intersect(scopes, ROLE_SCOPES[membership.role]) : new Set();
  const lists = [key.models, account.models].filter((m): m is string[] => m !== null);
  const models = lists.length === 0 ? null : new Set(lists.reduce((a, b) => a.filter((m) => b.includes(m))));
  return { key, account, user, membership, cidrs: compileCidrs(key.allowIps), scopes, models };
}

/**
 * Whether anything authentication reads (a key, user, account or membership) changed since last asked,
 * by a writer other than this process's services (which clear the cache themselves). The port of auth
 * invalidation: embedded mode asks SQLite (SqliteAuthEpoch below); a cluster listens for other instances.
 */
export interface AuthEpoch {
  changed(): boolean;
}

/**
 * Embedded mode's: SQLite's `PRAGMA data_version` changes whenever another connection commits, and then
 * the `auth_epoch` counter, which triggers bump on every change that authentication reads, tells whether
 * that commit matters. The second step is what keeps the cache warm while the settlement writer's thread
 * commits on its own connection every few milliseconds.
 */
export class SqliteAuthEpoch implements AuthEpoch {
  private readonly versionStmt;
  private readonly epochStmt;
  private version = -1;
  private epoch = -1;

  constructor(sqlite: Database) {
    this.versionStmt = sqlite.query<{ data_version: number }, []>("PRAGMA data_version");
    this.epochStmt = sqlite.query<{ n: number }, []>("SELECT n FROM auth_epoch WHERE id = 1");
  }

  changed(): boolean {
    const v = this.versionStmt.get()!.data_version;
    if (v === this.version) return false;
    this.version = v;
    const e = this.epochStmt.get()?.n ?? -1;
    if (e === this.epoch) return false;
    this.epoch = e;
    return true;
  }
}

/**
 * Keys by the hex SHA-256 of the whole key, with their account, user and membership, so authentication costs
 * no query when warm, whatever the key's format. Every write through our services clears it; writes by
 * anyone else are caught through the AuthEpoch.
 */
export class KeyCache {
  private readonly entries = new Map<string, CachedKey>();

  constructor(private readonly epoch: AuthEpoch, private readonly max = 50_000) {}

  private checkedThisTurn = false;

  private checkVersion(): void {
    // Asking SQLite costs two fcntl calls (about 5% of a relayed request), so it is asked once per
    // event-loop turn: requests that arrived together share the answer, and any request that arrives after
    // another process's commit sees it.
    if (this.checkedThisTurn) return;
    this.checkedThisTurn = true;
    setImmediate(() => (this.checkedThisTurn = false));
    this.poll();
  }

  /** Asks whether someone else changed a key or user; clears the cache and says so if one did. */
  poll(): boolean {
    if (!this.epoch.changed()) return false;
    this.entries.clear();
    this.onStale?.();
    return true;
  }

  /** Called whenever another connection's change cleared the cache (revocation re-checks running requests). */
  onStale: (() => void) | null = null;

  /** The cached entry, or undefined when not cached. */
  get(digest: string): CachedKey | undefined {
    this.checkVersion();
    return this.entries.get(digest);
  }

  /** Caches an entry. Unknown keys are never cached: a flood of made-up keys must not evict real ones. */
  set(digest: string, entry: CachedKey): CachedKey {
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(digest, entry);
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }
}
