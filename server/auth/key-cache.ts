import type { Database } from "bun:sqlite";
import type { ApiKeyRow, UserRow } from "../../db/schema";
import { compileCidrs, type Cidr } from "../net/cidr";
import { expandScopes, type Scope } from "../keys/model";

export type CachedKey = {
  key: ApiKeyRow;
  /** `key.hash` as bytes, decoded once. */
  hash: Uint8Array;
  user: UserRow;
  cidrs: Cidr[];
  scopes: Set<Scope>;
  models: Set<string> | null;
};

/**
 * Keys by public id, with their user, so authentication costs no query when warm.
 * Every write through our services clears it. Writes by another connection (another process, or a person
 * with sqlite3) are caught in two steps: SQLite's `PRAGMA data_version` changes whenever another connection
 * commits, and then the `auth_epoch` counter, which triggers bump on every change to a key or user that
 * authentication reads, tells whether the cache is stale. The second step is what keeps the cache warm
 * while the settlement writer's thread commits on its own connection every few milliseconds.
 */
export class KeyCache {
  private readonly entries = new Map<string, CachedKey | null>();
  private readonly versionStmt;
  private readonly epochStmt;
  private version = -1;
  private epoch = -1;

  constructor(private readonly sqlite: Database, private readonly max = 50_000) {
    this.versionStmt = sqlite.query<{ data_version: number }, []>("PRAGMA data_version");
    this.epochStmt = sqlite.query<{ n: number }, []>("SELECT n FROM auth_epoch WHERE id = 1");
  }

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

  /** Asks SQLite whether another connection changed a key or user; clears the cache and says so if one did. */
  poll(): boolean {
    const v = this.versionStmt.get()!.data_version;
    if (v === this.version) return false;
    this.version = v;
    const e = this.epochStmt.get()?.n ?? -1;
    if (e === this.epoch) return false;
    this.epoch = e;
    this.entries.clear();
    this.onStale?.();
    return true;
  }

  /** Called whenever another connection's change cleared the cache (revocation re-checks running requests). */
  onStale: (() => void) | null = null;

  /** The cached entry (null = known missing), or undefined when not cached. */
  get(publicId: string): CachedKey | null | undefined {
    this.checkVersion();
    return this.entries.get(publicId);
  }

  set(publicId: string, key: ApiKeyRow | undefined, user: UserRow | undefined): CachedKey | null {
    if (this.entries.size >= this.max) this.entries.clear();
    const entry = key && user
      ? { key, user, hash: Buffer.from(key.hash, "hex"), cidrs: compileCidrs(key.allowIps), scopes: expandScopes(key.scopes), models: key.models ? new Set(key.models) : null }
      : null;
    // Unknown ids are not cached: a flood of random ids must not evict real keys.
    if (entry) this.entries.set(publicId, entry);
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }
}
