import type { Settlement } from "./settlement";

/**
 * Where settled requests go to be made durable: the usage row and, in the same transaction, the ledger
 * charge, the balance, the key's and member's spend and the month's tokens, batched. Embedded mode commits
 * to SQLite from a thread of its own (settlement-writer.ts); a cluster sink commits to its database.
 * `enqueue` never waits; readers that must see the latest requests `await flush()` first.
 */
export interface SettlementSink {
  enqueue(s: Settlement): void;
  /** Resolves once everything enqueued before the call is committed. */
  flush(): Promise<void>;
  /** Runs `fn` after each commit (the request journal follows what is durable). */
  onFlush(fn: () => void): void;
  /** Settlements enqueued so far; the first `committedCount` of them are committed (batches commit in order). */
  readonly enqueuedCount: number;
  readonly committedCount: number;
  /** Settlements not yet committed. */
  readonly pending: number;
  /** Where commits run, for `relay admin health`. */
  readonly where: string;
  /** Flushes, then stops. */
  close(): void | Promise<void>;
}
