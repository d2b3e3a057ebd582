/**
 * Per-minute rate limits (rpm: requests, tpm: input + output tokens) on keys, accounts and org members, as a
 * sliding window log: each limit keeps what it admitted in the last 60 s (time and cost), and a request is
 * allowed only while the sum over the last 60 s, itself included, stays within the limit. Exact for every
 * 60-second window, unlike a fixed minute (which lets twice the limit through around its boundary) and unlike
 * a token bucket with a full minute of burst (which does too: a full burst, then a minute's refill).
 *
 * Checked and taken together with admission (synchronously: no other request runs in between), so a
 * refused request counts nothing. The token limit is taken at the hold's size and corrected to the actual
 * usage at settlement. Memory: one entry per admitted request in the last minute, per limit.
 */
export const WINDOW_MS = 60_000;

export type RateKind = "requests" | "tokens";

/** One limit that applies to a request: whose (`id`, e.g. `key:5:rpm`), its size and what the request costs. */
export type RateLimit = { id: string; kind: RateKind; limit: number; cost: number; scope: "key" | "account" | "member" };

/** What a limit looks like after a request: for the x-ratelimit-* headers. */
export type RateState = { kind: RateKind; limit: number; remaining: number; resetMs: number };

export type RateDecision =
  | { ok: true; states: RateState[]; taken: Taken[] }
  | { ok: false; refused: RateLimit; retryAfterMs: number; states: RateState[] };

/** What one admitted request put into one limit's window; its cost is corrected at settlement. */
export type Taken = { limit: RateLimit; entry: Entry };
type Entry = { at: number; cost: number };

/** The last 60 s of one limit: entries oldest first (a queue with a moving head), and their sum. */
class Window {
  entries: Entry[] = [];
  head = 0;
  sum = 0;

  prune(now: number): void {
    const from = now - WINDOW_MS;
    while (this.head < this.entries.length && this.entries[this.head]!.at <= from) this.sum -= this.entries[this.head++]!.cost;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** When enough of the window has aged out for `cost` more to fit under `limit`. */
  freesAt(cost: number, limit: number): number {
    let need = this.sum + cost - limit;
    for (let i = this.head; i < this.entries.length; i++) {
      need -= this.entries[i]!.cost;
      if (need <= 0) return this.entries[i]!.at + WINDOW_MS;
    }
    return Infinity;
  }

  get empty(): boolean {
    return this.head >= this.entries.length;
  }
}

export class RateLimiter {
  private readonly windows = new Map<string, Window>();

  /**
   * Checks every limit; only if all pass, takes them all. A cost larger than the whole limit can never pass:
   * it is refused with no retry time (the caller says what to change).
   */
  take(limits: readonly RateLimit[], now = Date.now()): RateDecision {
    for (const l of limits) {
      const w = this.window(l.id);
      w.prune(now);
      if (w.sum + l.cost > l.limit) {
        const retryAfterMs = l.cost > l.limit ? Infinity : Math.max(1, w.freesAt(l.cost, l.limit) - now);
        return { ok: false, refused: l, retryAfterMs, states: limits.map((x) => this.state(x, now)) };
      }
    }
    const taken: Taken[] = [];
    for (const l of limits) {
      const w = this.window(l.id);
      const entry = { at: now, cost: l.cost };
      w.entries.push(entry);
      w.sum += l.cost;
      taken.push({ limit: l, entry });
    }
    if (this.windows.size > 100_000) this.sweep(now);
    return { ok: true, states: limits.map((x) => this.state(x, now)), taken };
  }

  /** Corrects what a request took: its actual cost (tokens used, not held); nothing if it already aged out. */
  correct(t: Taken, actual: number, now = Date.now()): void {
    if (t.entry.at <= now - WINDOW_MS) return;
    const w = this.windows.get(t.limit.id);
    if (!w) return;
    w.sum += actual - t.entry.cost;
    t.entry.cost = actual;
  }

  private window(id: string): Window {
    let w = this.windows.get(id);
    if (!w) this.windows.set(id, (w = new Window()));
    return w;
  }

  private state(l: RateLimit, now: number): RateState {
    const w = this.window(l.id);
    w.prune(now);
    const newest = w.empty ? now - WINDOW_MS : w.entries[w.entries.length - 1]!.at;
    return { kind: l.kind, limit: l.limit, remaining: Math.max(0, l.limit - w.sum), resetMs: Math.max(0, newest + WINDOW_MS - now) };
  }

  private sweep(now: number): void {
    for (const [id, w] of this.windows) {
      w.prune(now);
      if (w.empty) this.windows.delete(id);
    }
  }
}

/** OpenAI's duration format for x-ratelimit-reset-*: `250ms`, `12s`, `1m30s`. */
export function resetText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/** The x-ratelimit-* headers for the tightest limit of each kind (the one with the least remaining). */
export function rateHeaders(states: readonly RateState[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of ["requests", "tokens"] as const) {
    const of = states.filter((s) => s.kind === kind);
    if (of.length === 0) continue;
    const tight = of.reduce((a, b) => (b.remaining < a.remaining ? b : a));
    out[`x-ratelimit-limit-${kind}`] = String(tight.limit);
    out[`x-ratelimit-remaining-${kind}`] = String(tight.remaining);
    out[`x-ratelimit-reset-${kind}`] = resetText(tight.resetMs);
  }
  return out;
}
