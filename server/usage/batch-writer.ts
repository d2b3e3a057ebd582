import type { Database } from "bun:sqlite";
import { log } from "../log";

/**
 * Collects small writes (usage rows, settlements, last-used times) and commits them together in one
 * transaction every few milliseconds, so the request path never waits on the database.
 * `flush()` runs synchronously and is called on graceful shutdown so nothing queued is lost.
 */
export class BatchWriter {
  private queue: ((db: Database) => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly afterFlush: (() => void)[] = [];

  constructor(private readonly sqlite: Database, private readonly intervalMs: number) {}

  enqueue(op: (db: Database) => void): void {
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
      this.sqlite.transaction(() => {
        for (const op of ops) op(this.sqlite);
      })();
    } catch (err) {
      // One bad op must not drop the batch: retry each on its own so the others still land.
      log.error("batch write failed; retrying one by one", { error: String(err) });
      for (const op of ops) {
        try {
          this.sqlite.transaction(() => op(this.sqlite))();
        } catch (e) {
          log.error("write dropped", { error: String(e) });
        }
      }
    }
    for (const fn of this.afterFlush) fn();
  }
}
