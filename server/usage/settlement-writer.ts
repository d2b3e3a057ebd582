import type { Database } from "bun:sqlite";
import { log } from "../log";
import { commitOrSplit, encodeSettlements, type CommitReport, type Settlement } from "./settlement";
import type { ThreadBatch, ThreadInit } from "./settlement-thread";
import type { SettlementSink } from "./sink";

/**
 * Collects settled requests and commits them together every few milliseconds, so the request path never
 * waits on the database. For a database file the commits run in a thread of their own (settlement-thread.ts),
 * off the event loop that serves requests; for an in-memory database, or if that thread fails, they run here.
 *
 * `flush()` is synchronous: it returns once everything enqueued before it is committed (the main thread
 * blocks on a shared cell meanwhile). Readers that must see the latest requests call it first; so does
 * shutdown, so nothing queued is lost.
 */
export class SettlementWriter implements SettlementSink {
  /** Enqueued, not yet handed to a committer. (Named so: tests empty it to simulate a kill -9.) */
  private queue: Settlement[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly afterFlush: (() => void)[] = [];
  private thread: CommitThread | null;
  /** Settlements ever enqueued, and how many of the first of them are committed: the journal's watermark. */
  private enqueued = 0;
  private committed = 0;

  constructor(private readonly sqlite: Database, private readonly intervalMs: number) {
    const file = sqlite.filename;
    this.thread = file && file !== ":memory:" ? new CommitThread(file, (end) => this.notifyFlushed(end), (why) => this.threadFailed(why)) : null;
  }

  enqueue(s: Settlement): void {
    this.enqueued++;
    this.queue.push(s);
    if (!this.timer) this.timer = setTimeout(() => this.handOff(), this.intervalMs);
  }

  /** Runs `fn` after each commit; tests use it to follow what is durable. */
  onFlush(fn: () => void): void {
    this.afterFlush.push(fn);
  }

  /** Where commits run: "thread" (the usual case for a database file) or "main" (in-memory, or after the thread failed). */
  get where(): "thread" | "main" {
    return this.thread ? "thread" : "main";
  }

  /** How many settlements were enqueued so far: the one just enqueued is committed once `committedCount` reaches it. */
  get enqueuedCount(): number {
    return this.enqueued;
  }

  /** Every settlement among the first `committedCount` enqueued is committed (batches commit in order). */
  get committedCount(): number {
    return this.committed;
  }

  /** Settlements not yet committed (queued here, or sent to the thread and not yet written). */
  get pending(): number {
    return this.queue.length + (this.thread?.uncommitted ?? 0);
  }

  /** Commits everything enqueued so far; resolves when it is durable (it is, already, when this returns). */
  flush(): Promise<void> {
    this.flushSync();
    return Promise.resolve();
  }

  /** Commits everything enqueued so far and returns when it is durable. Blocks the event loop meanwhile. */
  flushSync(): void {
    this.handOff();
    if (!this.thread) return;
    const confirmed = this.thread.waitForAll();
    if (confirmed === null) this.threadFailed(`a flush waited ${FLUSH_WAIT_MS / 1000} s for the settlement thread`);
    else if (confirmed >= 0) this.notifyFlushed(confirmed);
  }

  /** Flushes, then stops the thread. The writer commits in this thread if used again. */
  close(): void {
    this.flushSync();
    this.thread?.stop();
    this.thread = null;
  }

  /** Sends the queue to the thread, or commits it here. */
  private handOff(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    // The queue holds everything enqueued and not yet handed off, so this batch ends at the count so far.
    if (this.thread) this.thread.send(batch, this.enqueued);
    else {
      logReport(commitOrSplit(this.sqlite, batch));
      this.notifyFlushed(this.enqueued);
    }
  }

  /** Everything among the first `upTo` settlements enqueued is committed. */
  private notifyFlushed(upTo: number): void {
    if (upTo > this.committed) this.committed = upTo;
    for (const fn of this.afterFlush) fn();
  }

  /** The thread is gone or stuck: commit what it had not confirmed here (writes are idempotent), and from now on. */
  private threadFailed(why: string): void {
    const thread = this.thread;
    if (!thread) return;
    this.thread = null;
    log.error("settlement thread failed; committing in the main thread", { reason: why });
    const { left, end } = thread.stop();
    if (left.length > 0) logReport(commitOrSplit(this.sqlite, left));
    this.notifyFlushed(end);
  }
}

function logReport(r: CommitReport): void {
  if (r.batchError === null) return;
  log.error("batch write failed; retrying one by one", { error: r.batchError });
  for (const d of r.dropped) log.error("write dropped", { requestId: d.requestId, error: d.error });
}

/**
 * How long a flush waits for the thread before taking over its work: well past a commit that waits out the
 * busy timeout (5 s) for the write lock. Taking over early is safe anyway: settlements are idempotent.
 */
const FLUSH_WAIT_MS = 15_000;

/** Where the thread's module is: beside this file when run from source; under the entry points' root in the binary. */
function threadEntry(): string {
  return import.meta.url.includes("$bunfs") ? "./usage/settlement-thread.ts" : new URL("./settlement-thread.ts", import.meta.url).href;
}

/** The main thread's side of settlement-thread.ts: numbered batches out, confirmations back. */
class CommitThread {
  private readonly worker: Worker;
  /** The last batch number the thread committed, shared so a flush can wait for it without the event loop. */
  private readonly committed = new Int32Array(new SharedArrayBuffer(4));
  private sent = 0;
  /** Batches sent and not yet confirmed, by number, with the writer's count at their end: what the main thread commits itself if the thread dies. */
  private readonly unconfirmed = new Map<number, { batch: Settlement[]; end: number }>();
  private stopped = false;

  constructor(path: string, onCommitted: (end: number) => void, onFailure: (why: string) => void) {
    // Unref'd: an idle writer must not keep a finished process (or test run) alive.
    this.worker = new Worker(threadEntry(), { name: "settlements", ref: false } as WorkerOptions);
    this.worker.postMessage({ init: { path, committed: this.committed.buffer as SharedArrayBuffer } } satisfies ThreadInit);
    this.worker.onmessage = (e: MessageEvent<{ seq: number; report: CommitReport }>) => {
      logReport(e.data.report);
      // A flush may have confirmed (and announced) this batch already, while it waited on the cell.
      const end = this.confirm(e.data.seq);
      if (end >= 0) onCommitted(end);
    };
    this.worker.onerror = (e) => {
      if (!this.stopped) onFailure(e.message);
    };
    this.worker.addEventListener("close", () => {
      if (!this.stopped) onFailure("the thread exited");
    });
  }

  get uncommitted(): number {
    const done = Atomics.load(this.committed, 0);
    let n = 0;
    for (const [seq, { batch }] of this.unconfirmed) if (((done - seq) | 0) < 0) n += batch.length;
    return n;
  }

  send(batch: Settlement[], end: number): void {
    this.sent = (this.sent + 1) | 0; // wraps after 2^31 batches; compared with wrap-around below
    this.unconfirmed.set(this.sent, { batch, end });
    this.worker.postMessage({ seq: this.sent, settlements: encodeSettlements(batch) } satisfies ThreadBatch);
  }

  /**
   * Blocks until every batch sent is committed. The end count of the batches that confirmed (not yet
   * announced by the thread's message), -1 if there were none, null after FLUSH_WAIT_MS without the thread finishing.
   */
  waitForAll(): number | null {
    const deadline = performance.now() + FLUSH_WAIT_MS;
    for (;;) {
      const done = Atomics.load(this.committed, 0);
      if (((done - this.sent) | 0) >= 0) break;
      const left = deadline - performance.now();
      if (left <= 0) return null;
      Atomics.wait(this.committed, 0, done, left);
    }
    return this.confirm(this.sent);
  }

  /** Stops the thread and returns the settlements it had not confirmed, with the count at the last one's end. */
  stop(): { left: Settlement[]; end: number } {
    this.stopped = true;
    const confirmed = this.confirm(Atomics.load(this.committed, 0));
    this.worker.terminate();
    const rest = [...this.unconfirmed.values()];
    this.unconfirmed.clear();
    return { left: rest.flatMap((r) => r.batch), end: rest.length ? rest[rest.length - 1]!.end : confirmed };
  }

  /** Forgets the batches up to `upTo`, now committed; the writer's count at the last one's end, or -1 if there were none. */
  private confirm(upTo: number): number {
    let end = -1;
    for (const [seq, u] of this.unconfirmed) {
      if (((upTo - seq) | 0) < 0) break; // Map keeps send order
      this.unconfirmed.delete(seq);
      end = u.end;
    }
    return end;
  }
}
