import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import { log } from "../log";
import { commitOrSplit, type Settlement } from "./settlement";
import { admittedLine, outcomeLine, parseLine, type Admitted, type AdmittedLine, type Parsed } from "./journal-lines";
import type { SettlementSink } from "./sink";

/*
 * The request journal: what makes a kill -9 lose nothing. The settlement writer commits every few
 * milliseconds, so a process killed between a request's answer and the next commit used to lose that
 * request's usage row and charge. Now each admitted request appends a line here before it is forwarded
 * (A), a stream appends one just before its last event goes to the client (P: the answer as delivered), and
 * every settlement appends one as it is queued (S). Segments are files mapped into memory (MAP_SHARED): a
 * line is copied into the kernel's page cache with no system call, so it survives the process the moment it
 * is written (not the machine: that is what SQLite's own commits are for). A write(2) per line measured 5-8%
 * of the relay's throughput on two busy cores; the mapped copy costs about as much as encoding the line. At the next start, before anything is served, `recoverJournal` commits
 * every S or P the database lacks (the last line of a request wins: S over P) and writes every A with
 * neither as an `interrupted` usage row that costs nothing, then deletes the journal.
 *
 * Files are segments that rotate every few seconds or megabytes. Once every request a segment names is
 * settled and the writer has committed those settlements, the segment is wiped and kept for reuse: its pages
 * stay mapped and resident, so writing a line costs no page fault (fresh sparse pages cost about 2% of
 * throughput). Recovery reads lines in any order (an S wins over a P wherever each is), so which file a
 * line lands in does not matter. A graceful stop deletes the files.
 */

export type { Admitted } from "./journal-lines";

type Segment = {
  n: number;
  path: string;
  /** The file's pages, mapped shared: what is copied here is in the page cache. */
  map: Uint8Array;
  /** Bytes written so far; the rest of the file is zeros. */
  bytes: number;
  openedAt: number;
  /** Requests with a line here (A or P) that are not settled yet. */
  open: number;
  /** The writer's enqueued count that must be committed before this segment can go. */
  mark: number;
};

/** Where a request's lines are, so its settlement can release them. */
export type JournalMark = { a: Segment; p: Segment | null };

export interface RequestJournal {
  admitted(a: Admitted): JournalMark | null;
  /** A stream's answer as the client is about to have it whole: charged as such if the process dies now. */
  answered(mark: JournalMark | null, s: Settlement): void;
  /** After the settlement was queued with the writer. */
  settled(mark: JournalMark | null, s: Settlement): void;
  close(): void;
}

/** For in-memory databases (tests): nothing outlives the process there anyway. */
export const noJournal: RequestJournal = { admitted: () => null, answered: () => {}, settled: () => {}, close: () => {} };

/** Each segment file is created this size (sparse) and mapped whole; a line that does not fit starts the next. */
const SEGMENT_BYTES = 4 * 1024 * 1024;
const encoder = new TextEncoder();
/** Wiped segments kept for reuse; more are deleted. */
const KEEP_FREE = 3;
const ROTATE_MS = 2000;
const SEGMENT = /^(\d{10})\.log$/;

export class FileJournal implements RequestJournal {
  private current: Segment;
  private readonly sealed: Segment[] = [];
  /** Wiped segments, still mapped, for the next rotations. */
  private readonly free: Segment[] = [];
  private nextNumber: number;
  private readonly timer: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(private readonly dir: string, private readonly writer: SettlementSink, firstSegment: number, private readonly unlock: () => void = () => {}) {
    this.nextNumber = firstSegment;
    this.current = this.open();
    writer.onFlush(() => this.collect());
    // An idle journal still rotates, so a quiet server's last segment goes once its settlements are committed.
    this.timer = setInterval(() => this.tick(), ROTATE_MS);
    this.timer.unref?.();
  }

  admitted(a: Admitted): JournalMark {
    const seg = this.append(admittedLine(a, Date.now()));
    seg.open++;
    return { a: seg, p: null };
  }

  answered(mark: JournalMark | null, s: Settlement): void {
    if (!mark || this.closed) return;
    const seg = this.append(outcomeLine("P", s));
    if (mark.p === null) {
      mark.p = seg;
      seg.open++;
    }
  }

  settled(mark: JournalMark | null, s: Settlement): void {
    if (!mark || this.closed) return;
    const seg = this.append(outcomeLine("S", s));
    const due = this.writer.enqueuedCount;
    for (const x of [mark.a, mark.p, seg]) {
      if (x && x.mark < due) x.mark = due;
    }
    mark.a.open--;
    if (mark.p) mark.p.open--;
  }

  /** Stops writing; segments whose requests all settled and committed are deleted, the rest stay for the next start. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.seal();
    this.collect();
    // Every request settled and committed: nothing to keep. Otherwise the rest waits for the next start.
    if (this.sealed.length === 0) for (const seg of this.free.splice(0)) unlinkSync(seg.path);
    this.unlock();
  }

  /** Stops as a killed process would: no timer, nothing deleted, the files left for the next start. (Crash tests.) */
  abandon(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.unlock();
  }

  private append(line: string): Segment {
    for (;;) {
      const seg = this.current;
      const { read, written } = encoder.encodeInto(line, seg.map.subarray(seg.bytes));
      if (read === line.length) {
        seg.bytes += written;
        return seg;
      }
      // Did not fit: the partial copy is cut off by a NUL at recovery; the line goes whole into a new segment.
      seg.map.fill(0, seg.bytes);
      if (seg.bytes === 0) {
        this.failed("a request journal line is larger than a segment; not journaled", line.length);
        return seg;
      }
      this.rotate();
      if (this.current === seg) return seg; // no new segment could be made: this line is not journaled
    }
  }

  private tick(): void {
    try {
      if (this.current.bytes > 0 && performance.now() - this.current.openedAt >= ROTATE_MS) this.rotate();
      this.collect();
    } catch (err) {
      this.failed("could not rotate or clean up the request journal", err);
    }
  }

  /** Starts a segment; when no new one can be made (disk full, data dir gone), the current one goes on. */
  private rotate(): void {
    let next: Segment;
    try {
      next = this.free.pop() ?? this.open();
    } catch (err) {
      this.failed("could not start a request journal segment", err);
      return;
    }
    this.seal();
    this.current = next;
    this.current.openedAt = performance.now();
  }

  private lastFailure = 0;
  /** A journal that cannot write is logged (at most once a minute): requests go on, their crash safety does not. */
  private failed(what: string, err: unknown): void {
    if (Date.now() - this.lastFailure < 60_000) return;
    this.lastFailure = Date.now();
    log.error(what, { dir: this.dir, error: String(err) });
  }

  private seal(): void {
    this.sealed.push(this.current); // its mapping goes with the object, once collected
  }

  /** Wipes the sealed segments nothing needs any more, for reuse (a few; the rest are deleted). */
  private collect(): void {
    if (this.sealed.length === 0) return;
    const committed = this.writer.committedCount;
    for (let i = this.sealed.length - 1; i >= 0; i--) {
      const seg = this.sealed[i]!;
      if (seg.open > 0 || seg.mark > committed) continue;
      this.sealed.splice(i, 1);
      if (this.free.length >= KEEP_FREE) {
        unlinkSync(seg.path);
        continue;
      }
      seg.map.fill(0, 0, seg.bytes);
      seg.bytes = 0;
      seg.mark = 0;
      this.free.push(seg);
    }
  }

  private open(): Segment {
    const n = this.nextNumber++;
    const path = join(this.dir, `${String(n).padStart(10, "0")}.log`);
    const fd = openSync(path, "w+", 0o600);
    ftruncateSync(fd, SEGMENT_BYTES);
    closeSync(fd);
    return { n, path, map: Bun.mmap(path, { shared: true }), bytes: 0, openedAt: performance.now(), open: 0, mark: 0 };
  }
}

export type Recovery = { settled: number; interrupted: number; segments: number; nextSegment: number };

/**
 * Replays what a previous process journaled and did not commit, then deletes the journal. Idempotent: a
 * settlement already in the usage log is skipped (the request id is unique), so a recovery that is itself
 * killed is simply done again. Runs on the main connection before anything is served.
 */
/** Where recovered requests go: the database's (which of these ids it has already, and a commit). */
export type RecoveryTarget = {
  known(ids: string[]): Promise<Set<string>>;
  commit(batch: Settlement[]): Promise<{ requestId: string; error: string }[]>;
};

/** Embedded mode's: the SQLite file, on the main connection. */
export function sqliteRecoveryTarget(sqlite: Database): RecoveryTarget {
  const lookup = sqlite.query<{ request_id: string }, string[]>(`SELECT request_id FROM usage_log WHERE request_id IN (${Array(200).fill("?").join(",")})`);
  return {
    async known(ids) {
      const out = new Set<string>();
      for (let i = 0; i < ids.length; i += 200) {
        const chunk = ids.slice(i, i + 200);
        while (chunk.length < 200) chunk.push("");
        for (const r of lookup.all(...chunk)) out.add(r.request_id);
      }
      return out;
    },
    async commit(batch) {
      return commitOrSplit(sqlite, batch).dropped;
    },
  };
}

export async function recoverJournal(dir: string, target: RecoveryTarget): Promise<Recovery> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = readdirSync(dir).filter((f) => SEGMENT.test(f)).sort();
  const last = files.length ? Number(SEGMENT.exec(files[files.length - 1]!)![1]) : 0;
  if (files.length === 0) return { settled: 0, interrupted: 0, segments: 0, nextSegment: 1 };
  const admitted = new Map<string, AdmittedLine>();
  const outcome = new Map<string, Extract<Parsed, { kind: "S" | "P" }>["outcome"]>();
  const final = new Set<string>();
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    const end = text.indexOf("\0");
    const lines = (end === -1 ? text : text.slice(0, end)).split("\n");
    lines.pop(); // what follows the last newline: nothing, or a line a kill cut short
    for (const line of lines) {
      const p = parseLine(line);
      if (p === null) continue; // a line a kill cut short (or one that did not fit its segment): never acknowledged to anyone
      if (p.kind === "A") {
        admitted.set(p.admitted.requestId, p.admitted);
        continue;
      }
      // The settlement (S) supersedes a stream's provisional answer (P); a later P never undoes an S.
      if (p.kind === "S") final.add(p.requestId);
      else if (final.has(p.requestId)) continue;
      outcome.set(p.requestId, p.outcome);
    }
  }
  const ids = [...new Set([...admitted.keys(), ...outcome.keys()])];
  const known = await target.known(ids);
  const toCommit: Settlement[] = [];
  let interrupted = 0;
  for (const id of ids) {
    if (known.has(id)) continue;
    const a = admitted.get(id);
    // An outcome outlives its request's A line only once it is committed (segments go in that order).
    if (!a) {
      log.error("journal names a request it never admitted; skipped", { requestId: id });
      continue;
    }
    const o = outcome.get(id);
    if (o) {
      const { at: _at, ...identity } = a;
      toCommit.push({ ...o, record: { ...identity, ...o.record, refused: false } });
      continue;
    }
    interrupted++;
    toCommit.push(interruptedSettlement(a));
  }
  if (toCommit.length) {
    for (const d of await target.commit(toCommit)) log.error("journal replay could not write a request", { requestId: d.requestId, error: d.error });
  }
  for (const f of files) unlinkSync(join(dir, f));
  const settled = toCommit.length - interrupted;
  if (settled || interrupted) log.warn("recovered requests from the journal of a relay that stopped without flushing", { settled, interrupted });
  return { settled, interrupted, segments: files.length, nextSegment: last + 1 };
}

/** The usage row of a request the process died in the middle of: nothing delivered in full, nothing charged. */
export function interruptedSettlement(a: AdmittedLine, detail = "relay stopped before this request finished; recorded from its journal at the next start, not charged"): Settlement {
  const { requestId, accountId, orgId, userId, keyId, keyLabel, keyPrefix, sourceIp, endpoint, model, stream, at } = a;
  return {
    record: {
      requestId, accountId, orgId, userId, keyId, keyLabel, keyPrefix, sourceIp, endpoint, model, upstreamModel: "", channelId: null,
      status: 0, errorCode: "interrupted", stream, promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0,
      tokensEstimated: false, ttfbMs: null, totalMs: 0, refused: false,
      errorDetail: detail,
    },
    cost: 0, tokens: 0, shortfall: 0, at,
  };
}

/** The data dir's journal is this process's alone: a second relay on the same data dir must not replay a live one. */
export function lockJournal(dir: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = join(dir, "LOCK");
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, "utf8").trim());
    if (pid && pid !== process.pid && alive(pid)) {
      throw new Error(`another relay (pid ${pid}) is using the data dir ${join(dir, "..")}; stop it first, or give this one its own RELAY_DATA_DIR`);
    }
  }
  writeFileSync(lock, String(process.pid), { mode: 0o600 });
  return () => {
    try {
      if (readFileSync(lock, "utf8").trim() === String(process.pid)) unlinkSync(lock);
    } catch {
      /* already gone */
    }
  };
}

/** Whether a process with this pid runs a relay (a pid reused by something else after a crash does not count). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return /relay|bun/.test(cmd);
  } catch {
    return true; // no /proc: trust the signal check
  }
}
