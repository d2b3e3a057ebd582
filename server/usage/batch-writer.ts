import type { Database } from "bun:sqlite";
import { log } from "../log";

/**
 * What every op of one transaction shares: state kept across its ops, and work that runs once after the
 * last op, inside the same transaction (so it commits, or rolls back, together with them).
 */
export type Batch = {
  /** The value under `key` for this transaction, made by `init` on first use; `end(value)` runs after the last op. */
  shared<T>(key: object, init: () => T, end: (value: T) => void): T;
};

export type BatchOp = (db: Database, batch: Batch) => void;

/**
 * Collects small writes (usage rows, settlements, last-used times) and commits them together in one
 * transaction every few milliseconds, so the request path never waits on the database.
 * `flush()` runs synchronously and is called on graceful shutdown so nothing queued is lost.
 */
export class BatchWriter {
  private queue: BatchOp[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly afterFlush: (() => void)[] = [];

  constructor(private readonly sqlite: Database, private readonly intervalMs: number) {}

  enqueue(op: BatchOp): void {
    this.queue.push(op);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Runs `fn` after each flush; used by tests and shutdown to wait for durability. */
  onFlush(fn: () => void): void {
    this.afterFlush.push(fn);
  }

  get pending(): number {
    return this.queue.length;
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length === 0) return;
    const ops = this.queue;
    this.queue = [];
    try {
      this.commit(ops);
    } catch (err) {
      // One bad op must not drop the batch: retry each on its own so the others still land.
      log.error("batch write failed; retrying one by one", { error: String(err) });
      for (const op of ops) {
        try {
          this.commit([op]);
        } catch (e) {
          log.error("write dropped", { error: String(e) });
        }
      }
    }
    for (const fn of this.afterFlush) fn();
  }

  private commit(ops: BatchOp[]): void {
    this.sqlite.transaction(() => {
      const values = new Map<object, unknown>();
      const ends: (() => void)[] = [];
      const batch: Batch = {
        shared<T>(key: object, init: () => T, end: (value: T) => void): T {
          if (!values.has(key)) {
            const value = init();
            values.set(key, value);
            ends.push(() => end(value));
          }
          return values.get(key) as T;
        },
      };
      for (const op of ops) op(this.sqlite, batch);
      for (const end of ends) end();
    })();
  }
}
