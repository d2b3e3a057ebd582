import type { RateLimit, RateState } from "./rate-limits";

/**
 * Concurrency slots and per-minute rate windows for cluster and PostgreSQL modes: what may be lost and
 * rebuilt, never money (credits and quotas are decided in PostgreSQL). Embedded mode keeps these in
 * Accounts and RateLimiter instead, inside its synchronous admission.
 */

/** One concurrency cap a request takes a slot under (`id`: e.g. `account:5`, `member:5:7`). */
export type SlotCap = { id: string; cap: number; scope: "account" | "member" };

/** What one request takes: a slot under each cap and one entry in each rate window (rpm: 1, tpm: its token bound). */
export type SlotRequest = { requestId: string; slots: readonly SlotCap[]; rates: readonly RateLimit[] };

export type SlotDecision =
  | { ok: true; states: RateState[] }
  | { ok: false; kind: "concurrency"; slot: SlotCap }
  | { ok: false; kind: "rate"; refused: RateLimit; retryAfterMs: number; states: RateState[] };

export interface SlotLimiter {
  /**
   * Atomically: when every slot has room and every rate window takes its cost, takes them all (slots
   * as leases that expire after the lease TTL unless renewed); otherwise takes nothing, so a refused
   * request counts nothing. A cost larger than a whole limit is refused with retryAfterMs Infinity.
   */
  take(req: SlotRequest): Promise<SlotDecision>;
  /**
   * Ends a request: frees its slots and corrects its token entries from their held cost to
   * `actualTokens` (entries that aged out are left alone). Idempotent.
   */
  release(req: SlotRequest, actualTokens: number): Promise<void>;
  /** Takes back everything `take` took (the request was refused afterwards, e.g. by its balance). */
  undo(req: SlotRequest): Promise<void>;
  /** Extends the leases of running requests' slots by another TTL (called every TTL/3 while they run). */
  renew(reqs: readonly SlotRequest[]): Promise<void>;
}
