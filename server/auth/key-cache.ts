import type { Database } from "bun:sqlite";
import type { ApiKeyRow, UserRow } from "../../db/schema";
import { compileCidrs, type Cidr } from "../net/cidr";
import { expandScopes, type Scope } from "../keys/model";

export type CachedKey = {
  key: ApiKeyRow;
  user: UserRow;
  cidrs: Cidr[];
  scopes: Set<Scope>;
  models: Set<string> | null;
};

/**
 * Keys by public id, with their user, so authentication costs no query when warm.
 * Every write through our services clears it; writes by another process are caught by
 * SQLite's `PRAGMA data_version`, which changes whenever another connection commits.
 */
export class KeyCache {
  private readonly entries = new Map<string, CachedKey | null>();
  private readonly versionStmt;
  private version = -1;

  constructor(private readonly sqlite: Database, private readonly max = 50_000) {
    this.versionStmt = sqlite.query<{ data_version: number }, []>("PRAGMA data_version");
  }

  private checkedThisTurn = false;

  private checkVersion(): void {
    // Asking SQLite costs two fcntl calls (about 5% of a relayed request), so it is asked once per
    // event-loop turn: requests that arrived together share the answer, and any request that arrives after
    // another process's commit sees it.
    if (this.checkedThisTurn) return;
    this.checkedThisTurn = true;
    setImmediate(() => (this.checkedThisTurn = false));
    const v = this.versionStmt.get()!.data_version;
    if (v !== this.version) {
      this.version = v;
      this.entries.clear();
    }
  }

  /** The cached entry (null = known missing), or undefined when not cached. */
  get(publicId: string): CachedKey | null | undefined {
    this.checkVersion();
    return this.entries.get(publicId);
  }

  set(publicId: string, key: ApiKeyRow | undefined, user: UserRow | undefined): CachedKey | null {
    if (this.entries.size >= this.max) this.entries.clear();
    const entry = key && user
      ? { key, user, cidrs: compileCidrs(key.allowIps), scopes: expandScopes(key.scopes), models: key.models ? new Set(key.models) : null }
      : null;
    // Unknown ids are not cached: a flood of random ids must not evict real keys.
    if (entry) this.entries.set(publicId, entry);
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }
}
