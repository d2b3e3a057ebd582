import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import { log } from "../log";
import { commitOrSplit, settlementOfTuple, settlementTuple, type RequestRecord, type Settlement } from "./settlement";
import type { SettlementWriter } from "./settlement-writer";

/*
 * The request journal: what makes a kill -9 lose nothing. The settlement writer commits every few
 * milliseconds, so a process killed between a request's answer and the next commit used to lose that
 * request's usage row and charge. Now each admitted request appends a line here before it is forwarded
 * (A), a stream appends one just before its last event goes to the client (P: the answer as delivered), and
 * every settlement appends one as it is queued (S). A line is one write(2) to an append-only file: it is in
 * the kernel's page cache when the call returns, so it survives the process (not the machine: that is what
 * SQLite's own commits are for). At the next start, before anything is served, `recoverJournal` commits
 * every S or P the database lacks (the last line of a request wins: S over P) and writes every A with
 * neither as an `interrupted` usage row that costs nothing, then deletes the journal.
 *
 * Files are segments that rotate every few seconds or megabytes; a segment is deleted once every request
 * it names is settled and the writer has committed those settlements, so the journal stays small.
 */

/** A request as admitted: enough for its usage row if nothing else of it survives. */
export type Admitted = Pick<RequestRecord, "requestId" | "accountId" | "orgId" | "userId" | "keyId" | "keyLabel" | "keyPrefix" | "sourceIp" | "endpoint" | "model" | "stream">;

type Segment = {
  n: number;
  path: string;
  fd: number;
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

const ROTATE_BYTES = 4 * 1024 * 1024;
const ROTATE_MS = 2000;
const SEGMENT = /^(\d{10})\.log$/;

export class FileJournal implements RequestJournal {
  private current: Segment;
  private readonly sealed: Segment[] = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(private readonly dir: string, private readonly writer: SettlementWriter, firstSegment: number, private readonly unlock: () => void = () => {}) {
    this.current = this.open(firstSegment);
    writer.onFlush(() => this.collect());
    // An idle journal still rotates, so a quiet server's last segment goes once its settlements are committed.
    this.timer = setInterval(() => this.tick(), ROTATE_MS);
    this.timer.unref?.();
  }

  admitted(a: Admitted): JournalMark {
    const seg = this.append("A", [a.requestId, a.accountId, a.orgId, a.userId, a.keyId, a.keyLabel, a.keyPrefix, a.sourceIp, a.endpoint, a.model, a.stream, Date.now()]);
    seg.open++;
    return { a: seg, p: null };
  }

  answered(mark: JournalMark | null, s: Settlement): void {
    if (!mark || this.closed) return;
    const seg = this.append("P", settlementTuple(s));
    if (mark.p === null) {
      mark.p = seg;
      seg.open++;
    }
  }

  settled(mark: JournalMark | null, s: Settlement): void {
    if (!mark || this.closed) return;
    const seg = this.append("S", settlementTuple(s));
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
    this.unlock();
  }

  /** Stops as a killed process would: no timer, nothing deleted, the files left for the next start. (Crash tests.) */
  abandon(): void {
    this.closed = true;
    clearInterval(this.timer);
    closeSync(this.current.fd);
    this.unlock();
  }

  private append(kind: "A" | "P" | "S", tuple: unknown[]): Segment {
    if (this.current.bytes >= ROTATE_BYTES) this.rotate();
    const seg = this.current;
    const line = `${kind}\t${JSON.stringify(tuple)}\n`;
    seg.bytes += writeSync(seg.fd, line);
    return seg;
  }

  private tick(): void {
    if (this.current.bytes > 0 && performance.now() - this.current.openedAt >= ROTATE_MS) this.rotate();
    this.collect();
  }

  private rotate(): void {
    const next = this.current.n + 1;
    this.seal();
    this.current = this.open(next);
  }

  private seal(): void {
    closeSync(this.current.fd);
    this.sealed.push(this.current);
  }

  /** Deletes the sealed segments nothing needs any more. */
  private collect(): void {
    if (this.sealed.length === 0) return;
    const committed = this.writer.committedCount;
    for (let i = this.sealed.length - 1; i >= 0; i--) {
      const seg = this.sealed[i]!;
      if (seg.open > 0 || seg.mark > committed) continue;
      unlinkSync(seg.path);
      this.sealed.splice(i, 1);
    }
  }

  private open(n: number): Segment {
    const path = join(this.dir, `${String(n).padStart(10, "0")}.log`);
    return { n, path, fd: openSync(path, "a", 0o600), bytes: 0, openedAt: performance.now(), open: 0, mark: 0 };
  }
}

export type Recovery = { settled: number; interrupted: number; segments: number; nextSegment: number };

/**
 * Replays what a previous process journaled and did not commit, then deletes the journal. Idempotent: a
 * settlement already in the usage log is skipped (the request id is unique), so a recovery that is itself
 * killed is simply done again. Runs on the main connection before anything is served.
 */
export function recoverJournal(dir: string, sqlite: Database): Recovery {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = readdirSync(dir).filter((f) => SEGMENT.test(f)).sort();
  const last = files.length ? Number(SEGMENT.exec(files[files.length - 1]!)![1]) : 0;
  if (files.length === 0) return { settled: 0, interrupted: 0, segments: 0, nextSegment: 1 };
  const admitted = new Map<string, unknown[]>();
  const outcome = new Map<string, Settlement>();
  const final = new Set<string>();
  for (const f of files) {
    for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
      if (line.length < 3 || line[1] !== "\t") continue;
      let tuple: unknown[];
      try {
        tuple = JSON.parse(line.slice(2));
      } catch {
        continue; // the last line of a segment a kill cut short: it was never acknowledged to anyone
      }
      if (line[0] === "A") admitted.set(tuple[0] as string, tuple);
      else if (line[0] === "P" || line[0] === "S") {
        const s = settlementOfTuple(tuple);
        const id = s.record.requestId;
        // The settlement (S) supersedes a stream's provisional answer (P); a later P never undoes an S.
        if (line[0] === "S") final.add(id);
        else if (final.has(id)) continue;
        outcome.set(id, s);
      }
    }
  }
  const ids = [...new Set([...admitted.keys(), ...outcome.keys()])];
  const known = new Set<string>();
  const lookup = sqlite.query<{ request_id: string }, string[]>(`SELECT request_id FROM usage_log WHERE request_id IN (${Array(200).fill("?").join(",")})`);
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200);
    while (chunk.length < 200) chunk.push("");
    for (const r of lookup.all(...chunk)) known.add(r.request_id);
  }
  const toCommit: Settlement[] = [];
  let interrupted = 0;
  for (const id of ids) {
    if (known.has(id)) continue;
    const s = outcome.get(id);
    if (s) {
      toCommit.push(s);
      continue;
    }
    const a = admitted.get(id)!;
    interrupted++;
    toCommit.push(interruptedSettlement(a));
  }
  if (toCommit.length) {
    const report = commitOrSplit(sqlite, toCommit);
    for (const d of report.dropped) log.error("journal replay could not write a request", { requestId: d.requestId, error: d.error });
  }
  for (const f of files) unlinkSync(join(dir, f));
  const settled = toCommit.length - interrupted;
  if (settled || interrupted) log.warn("recovered requests from the journal of a relay that stopped without flushing", { settled, interrupted });
  return { settled, interrupted, segments: files.length, nextSegment: last + 1 };
}

/** The usage row of a request the process died in the middle of: nothing delivered in full, nothing charged. */
function interruptedSettlement(a: unknown[]): Settlement {
  const [requestId, accountId, orgId, userId, keyId, keyLabel, keyPrefix, sourceIp, endpoint, model, stream, at] = a as [string, number, number | null, number | null, number | null, string, string, string, string, string, boolean, number];
  return {
    record: {
      requestId, accountId, orgId, userId, keyId, keyLabel, keyPrefix, sourceIp, endpoint, model, upstreamModel: "", channelId: null,
      status: 0, errorCode: "interrupted", stream, promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0,
      tokensEstimated: false, ttfbMs: null, totalMs: 0, refused: false,
      errorDetail: "relay stopped before this request finished; recorded from its journal at the next start, not charged",
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
