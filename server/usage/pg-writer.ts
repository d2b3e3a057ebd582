import type { SQL } from "bun";
import { log } from "../log";
import type { Settlement } from "./settlement";
import type { SettlementSink } from "./sink";
import { commitPgOrSplit, isConnectionError } from "./pg-settlement";

/**
 * The settlement sink on PostgreSQL: settlements are collected and committed together every few
 * milliseconds, one batch at a time, in order. When the server cannot be reached, the batch waits and is
 * retried (backing off to a few seconds) until it commits; meanwhile the request journal holds every one
 * of them on this machine, so a kill in the meantime loses nothing either (the next start replays it).
 */
export class PgSettlementWriter implements SettlementSink {
  private queue: Settlement[] = [];
  private inFlight: { batch: Settlement[]; end: number } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly afterFlush: (() => void)[] = [];
  private waiters: { upTo: number; resolve: () => void }[] = [];
  private enqueued = 0;
  private committed = 0;
  private backoffMs = 0;
  private stopped = false;
  /** Set while PostgreSQL is unreachable: health and metrics say so. */
  unreachableSince: number | null = null;

  constructor(private readonly sql: SQL, private readonly intervalMs: number) {}

  get enqueuedCount(): number {
    return this.enqueued;
  }

  get committedCount(): number {
    return this.committed;
  }

  get pending(): number {
    return this.enqueued - this.committed;
  }

  get where(): string {
    return this.unreachableSince === null ? "postgresql" : "postgresql (unreachable: settlements wait in the journal)";
  }

  enqueue(s: Settlement): void {
    this.enqueued++;
    this.queue.push(s);
    this.schedule(this.intervalMs);
  }

  onFlush(fn: () => void): void {
    this.afterFlush.push(fn);
  }

  flush(): Promise<void> {
    const upTo = this.enqueued;
    if (this.committed >= upTo) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push({ upTo, resolve }));
    if (this.backoffMs === 0) this.schedule(0);
    return done;
  }

  /** Flushes for at most `timeoutMs`; what is left stays in the journal for the next start. */
  async close(timeoutMs = 5000): Promise<void> {
    await Promise.race([this.flush(), Bun.sleep(timeoutMs)]);
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped || this.inFlight || (this.timer && ms > 0)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.commitNext();
    }, ms);
  }

  private async commitNext(): Promise<void> {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = { batch, end: this.enqueued };
    try {
      const { dropped } = await commitPgOrSplit(this.sql, batch);
      for (const d of dropped) log.error("write dropped", { requestId: d.requestId, error: d.error });
      if (this.unreachableSince !== null) log.info("PostgreSQL is back; waiting settlements committed", { after: Date.now() - this.unreachableSince });
      this.unreachableSince = null;
      this.backoffMs = 0;
      this.done(this.inFlight.end);
      this.inFlight = null;
      if (this.queue.length > 0) this.schedule(this.intervalMs);
    } catch (err) {
      // The batch goes back to the head of the queue, in order, and is tried again.
      this.queue = batch.concat(this.queue);
      this.inFlight = null;
      if (!isConnectionError(err)) log.error("settlement batch failed; retrying", { error: String(err) });
      else if (this.unreachableSince === null) {
        this.unreachableSince = Date.now();
        log.warn("PostgreSQL unreachable; settlements wait in the request journal and are retried", { error: String(err) });
      }
      this.backoffMs = Math.min(5000, Math.max(100, this.backoffMs * 2));
      if (!this.stopped) {
        this.timer = setTimeout(() => {
          this.timer = null;
          void this.commitNext();
        }, this.backoffMs);
      }
    }
  }

  private done(upTo: number): void {
    if (upTo > this.committed) this.committed = upTo;
    for (const fn of this.afterFlush) fn();
    const ready = this.waiters.filter((w) => w.upTo <= this.committed);
    this.waiters = this.waiters.filter((w) => w.upTo > this.committed);
    for (const w of ready) w.resolve();
  }
}
