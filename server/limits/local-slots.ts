import { RateLimiter, type RateLimit, type Taken } from "./rate-limits";
import type { SlotDecision, SlotLimiter, SlotRequest } from "./slots";

export type LocalSlotOptions = {
  /**
   * This instance's share of the cluster, as a divisor read on every take: caps become
   * `Math.ceil(cap / share())` and rate limits `Math.ceil(limit / share())`, so instances that each
   * count alone (Redis down) stay near the cluster's limits together. Unset: the whole limits (one instance).
   */
  share?: () => number;
};

/** What one request holds here, to release or undo it exactly. */
type Held = { slots: string[]; taken: Taken[] };

/**
 * SlotLimiter in this process's memory: single-instance PostgreSQL mode, and the fallback of a cluster
 * whose Redis is unreachable. No await inside take, so check and take see no other request in between.
 * No leases: a process that dies takes its slots with it.
 */
export class LocalSlotLimiter implements SlotLimiter {
  private readonly slots = new Map<string, Set<string>>();
  private readonly rates = new RateLimiter();
  private readonly held = new Map<string, Held>();

  constructor(private readonly opts: LocalSlotOptions = {}) {}

  async take(req: SlotRequest): Promise<SlotDecision> {
    const share = this.share();
    for (const s of req.slots) {
      if ((this.slots.get(s.id)?.size ?? 0) >= Math.ceil(s.cap / share)) return { ok: false, kind: "concurrency", slot: s };
    }
    // The decision and its states name the limits as applied here (the share), which the headers then show.
    const limits: readonly RateLimit[] = share === 1 ? req.rates : req.rates.map((r) => ({ ...r, limit: Math.ceil(r.limit / share) }));
    const d = this.rates.take(limits);
    if (!d.ok) return { ok: false, kind: "rate", refused: d.refused, retryAfterMs: d.retryAfterMs, states: d.states };
    for (const s of req.slots) {
      let set = this.slots.get(s.id);
      if (!set) this.slots.set(s.id, (set = new Set()));
      set.add(req.requestId);
    }
    this.held.set(req.requestId, { slots: req.slots.map((s) => s.id), taken: d.taken });
    return { ok: true, states: d.states };
  }

  async release(req: SlotRequest, actualTokens: number): Promise<void> {
    const h = this.forget(req.requestId);
    for (const t of h?.taken ?? []) if (t.limit.kind === "tokens") this.rates.correct(t, actualTokens);
  }

  async undo(req: SlotRequest): Promise<void> {
    // A cost of 0 takes the entry out of its window's sum (RateLimiter keeps no other handle on it).
    for (const t of this.forget(req.requestId)?.taken ?? []) this.rates.correct(t, 0);
  }

  /** Nothing to extend: slots here live exactly as long as the request (or the process). */
  async renew(_reqs: readonly SlotRequest[]): Promise<void> {}

  /** Frees the request's slots and hands back its rate entries; nothing the second time. */
  private forget(requestId: string): Held | undefined {
    const h = this.held.get(requestId);
    if (!h) return undefined;
    this.held.delete(requestId);
    for (const id of h.slots) {
      const set = this.slots.get(id);
      set?.delete(requestId);
      if (set?.size === 0) this.slots.delete(id);
    }
    return h;
  }

  private share(): number {
    const s = this.opts.share?.() ?? 1;
    return Number.isFinite(s) && s > 1 ? s : 1;
  }
}
