/**
 * The settlement writer's thread: commits the batches the main thread sends, on its own connection to the
 * same database file, so the usage rows and ledger charges (the largest share of a request's CPU in the
 * main thread) are written beside the request path instead of on it.
 *
 * Protocol (see settlement-writer.ts): first `{ init }` with the database path and a shared cell; then
 * `{ seq, settlements }` batches in order (settlements encoded by encodeSettlements). After each commit the thread stores `seq` in the cell (which a
 * flushing main thread waits on) and posts `{ seq, report }` (which the main thread logs).
 */
import { Database } from "bun:sqlite";
import { commitOrSplit, decodeSettlements } from "./settlement";

declare const self: Worker;

export type ThreadInit = { init: { path: string; committed: SharedArrayBuffer } };
/** `settlements` is encodeSettlements' JSON. */
export type ThreadBatch = { seq: number; settlements: string };

let db: Database | null = null;
let committed: Int32Array | null = null;

self.onmessage = (e: MessageEvent<ThreadInit | ThreadBatch>) => {
  const m = e.data;
  if ("init" in m) {
    db = new Database(m.init.path, { strict: true });
    // The main thread created the file, applied the migrations and set WAL (which persists in the file).
    db.run("PRAGMA synchronous = NORMAL");
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA foreign_keys = ON");
    committed = new Int32Array(m.init.committed);
    return;
  }
  const report = commitOrSplit(db!, decodeSettlements(m.settlements));
  Atomics.store(committed!, 0, m.seq);
  Atomics.notify(committed!, 0);
  self.postMessage({ seq: m.seq, report });
};
