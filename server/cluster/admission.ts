import type { SQL } from "bun";
import type { AppContext } from "../context";
import { ApiError, type ErrorCode } from "../errors";
import { costOf, type PricedUsage } from "../billing/prices";
import { utcMonth } from "../limits/month";
import { plan, rateLimitsOf, rateRefusal, retryAfter, type AdmitInput, type Hold, type Room } from "../limits/admission";
import type { Account, KeySpend, MemberState } from "../limits/accounts";
import type { Admission, LiveAccount, Settled } from "../limits/port";
import type { SlotLimiter, SlotRequest } from "../limits/slots";
import { isConnectionError } from "../usage/pg-settlement";
import { log } from "../log";

/** What PostgreSQL says an account, key and member have, as relay_room and relay_reserve return it. */
type PgRoom = {
  credits: number; held: number; heldTokens: number; monthTokens: number;
  keySpent: number; keyHeld: number; memberSpent: number; memberHeld: number;
};

type Outcome = "ok" | "balance" | "key" | "member" | "tokens" | "duplicate" | "no_account";

/** A cluster hold: the embedded Hold's fields (snapshots, for views), plus what to release in the slot limiter. */
type ClusterHold = Hold & { slots: SlotRequest };

/** How long a room read from PostgreSQL is good enough to plan with (the reservation re-checks it exactly). */
const ROOM_TTL_MS = 2000;
/** Reservations tried when the planned hold no longer fits what another instance left. */
const MAX_TRIES = 3;

const num = (v: unknown) => Number(v ?? 0);
function roomOf(r: Record<string, unknown>): PgRoom {
  return {
    credits: num(r.credits), held: num(r.held), heldTokens: num(r.held_tokens), monthTokens: num(r.month_tokens),
    keySpent: num(r.key_spent), keyHeld: num(r.key_held), memberSpent: num(r.member_spent), memberHeld: num(r.member_held),
  };
}

export const pgUnavailable = () =>
  new ApiError("service_unavailable", "relay cannot reach its database (PostgreSQL) to hold this request's cost, so it did not forward it. Retry shortly.", null, { "retry-after": "5" });

/**
 * Admission for PostgreSQL and cluster modes: money in PostgreSQL, slots and rate windows in a SlotLimiter
 * (Redis across instances, this process's memory for one instance). Per request: the slots and rate
 * windows are taken in one atomic script, then the hold is reserved by relay_reserve (migration 0004) under
 * the account's row lock, which re-checks balance, key and member spend and the monthly quota exactly, so no
 * number of instances can overdraw. A refusal after the slots were taken gives them back, so it counts
 * nothing. The hold row is deleted, and held amounts released, in the settlement's own transaction.
 *
 * Settlement here never charges past the hold (embedded mode may, as far as the free balance allows,
 * knowing every other hold in memory): an upstream that ignored the injected output cap is charged its hold
 * and the rest is logged as shortfall.
 */
export class ClusterAdmission implements Admission {
  private readonly rooms = new Map<string, { room: PgRoom; at: number }>();
  /** Requests running on this instance, whose leases are renewed. */
  private readonly running = new Map<string, SlotRequest>();
  /** This instance's in-flight requests per account, for /metrics (other instances report their own). */
  private readonly inFlight = new Map<number, number>();
  private readonly renewTimer: ReturnType<typeof setInterval>;

  constructor(
    private readonly ctx: AppContext,
    private readonly sql: SQL,
    private readonly limiter: SlotLimiter,
    private readonly instanceId: string,
    leaseTtlMs: number,
  ) {
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, Math.floor(leaseTtlMs / 3)));
    this.renewTimer.unref();
  }

  async admit(input: AdmitInput): Promise<Hold> {
    const price = this.ctx.prices.get(input.model);
    const roomKey = `${input.accountId}:${input.keyId ?? ""}:${input.member?.userId ?? ""}`;
    const month = utcMonth();
    const cached = this.rooms.get(roomKey);
    let room = cached && Date.now() - cached.at < ROOM_TTL_MS ? cached.room : null;
    let fresh = false;
    let flushed = false;
    const tokenLimited = input.rates?.some((r) => r.tpm !== null) ?? false;
    for (let attempt = 1; ; attempt++) {
      if (!room) {
        room = await this.readRoom(input, month);
        fresh = true;
      }
      const r = this.room(input, room);
      let p = plan(input, price, r, input.promptTokens, tokenLimited);
      if (input.refinePromptTokens && (p instanceof ApiError || p.inject !== null || tokenLimited)) p = plan(input, price, r, input.refinePromptTokens(), tokenLimited);
      if (p instanceof ApiError) {
        if (fresh && (flushed || !(await this.settlePending()))) throw p;
        if (fresh) flushed = true;
        room = null; // planned on a cached or stale room: refuse only on what PostgreSQL says now
        continue;
      }
      const slots: SlotRequest = {
        requestId: input.requestId,
        slots: [
          { id: `account:${input.accountId}`, cap: input.concurrency, scope: "account" },
          ...(input.member?.concurrency != null ? [{ id: `member:${input.accountId}:${input.member.userId}`, cap: input.member.concurrency, scope: "member" as const }] : []),
        ],
        rates: rateLimitsOf(input, p.tokenBound),
      };
      const d = await this.limiter.take(slots);
      if (!d.ok) {
        if (d.kind === "rate") throw rateRefusal(d.refused, d.retryAfterMs, d.states);
        const whose = d.slot.scope === "account" ? "this account" : "your membership of this organization";
        throw new ApiError("concurrency_limit_exceeded", `Too many requests in flight for ${whose} (limit ${d.slot.cap}).`, null, retryAfter);
      }
      let outcome: Outcome;
      try {
        const res = await this.reserve(input, p.credits, p.tokens, month);
        outcome = res.outcome;
        room = res.room;
      } catch (err) {
        await this.limiter.undo(slots).catch(() => {});
        throw err;
      }
      if (outcome === "ok") {
        this.rooms.set(roomKey, { room, at: Date.now() });
        return this.hold(input, price, p, slots, room, d.states);
      }
      await this.limiter.undo(slots).catch(() => {});
      if (outcome === "duplicate") throw new ApiError("invalid_request", "A request with this id is already running; send each request with its own x-request-id.");
      if (outcome === "no_account") throw new ApiError("invalid_api_key", "The account this key charges no longer exists.");
      fresh = true; // the reservation answered with the state it saw: plan again on it
      if (!flushed && (await this.settlePending())) {
        flushed = true;
        room = null;
        continue;
      }
      if (attempt >= MAX_TRIES) {
        const again = plan(input, price, this.room(input, room), input.promptTokens, tokenLimited);
        throw again instanceof ApiError ? again : refusalOf(outcome);
      }
    }
  }

  /**
   * Before refusing for money: this instance's own settlements still queued hold what their requests no
   * longer use (a client's next request right after its last answer would see its balance still held).
   * Commits them once per admission and says whether that may have changed the answer.
   */
  private async settlePending(): Promise<boolean> {
    if (this.ctx.writer.pending === 0) return false;
    await this.ctx.writer.flush();
    return true;
  }

  settle(hold: Hold, usage: PricedUsage, succeeded: boolean): Settled {
    if (hold.released) return { cost: 0, tokens: 0, shortfall: 0 };
    hold.released = true;
    const h = hold as ClusterHold;
    const actual = costOf(hold.price, usage, succeeded);
    const cost = Math.min(actual, hold.credits);
    const tokens = usage.input + usage.cacheRead + usage.cacheWrite + usage.output;
    this.running.delete(hold.requestId);
    const n = (this.inFlight.get(hold.account.accountId) ?? 1) - 1;
    if (n > 0) this.inFlight.set(hold.account.accountId, n);
    else this.inFlight.delete(hold.account.accountId);
    // Slots are freed now; the money is released when the settlement commits (usage/pg-settlement.ts).
    void this.limiter.release(h.slots, tokens).catch((err) => log.warn("could not release a request's slots; its lease will expire", { id: hold.requestId, error: String(err) }));
    return { cost, tokens, shortfall: actual - cost };
  }

  async live(accountId: number): Promise<LiveAccount> {
    const month = utcMonth();
    const [r] = await this.sql`
      SELECT a.credits, a.held, a.held_tokens,
        coalesce((SELECT t.tokens FROM token_usage t WHERE t.account_id = a.id AND t.month = ${month}), 0) AS month_tokens,
        (SELECT count(*) FROM holds h WHERE h.account_id = a.id) AS in_flight
      FROM accounts a WHERE a.id = ${accountId}`;
    if (!r) return { balance: 0, held: 0, inFlight: 0, monthTokens: 0, heldTokens: 0 };
    return { balance: num(r.credits), held: num(r.held), inFlight: num(r.in_flight), monthTokens: num(r.month_tokens), heldTokens: num(r.held_tokens) };
  }

  peek(accountId: number): LiveAccount | undefined {
    const n = this.inFlight.get(accountId);
    return n === undefined ? undefined : { balance: 0, held: 0, inFlight: n, monthTokens: 0, heldTokens: 0 };
  }

  credited(accountId: number): void {
    for (const k of this.rooms.keys()) if (k.startsWith(`${accountId}:`)) this.rooms.delete(k);
  }

  close(): void {
    clearInterval(this.renewTimer);
  }

  private room(input: AdmitInput, r: PgRoom): Room {
    const memberLimit = input.member?.monthlySpend ?? null;
    return {
      balance: r.credits - r.held,
      key: input.keyId !== null && input.spendLimit !== null ? input.spendLimit - r.keySpent - r.keyHeld : Infinity,
      member: input.member && memberLimit !== null ? memberLimit - r.memberSpent - r.memberHeld : Infinity,
      tokens: input.monthlyTokens > 0 ? input.monthlyTokens - r.monthTokens - r.heldTokens : Infinity,
    };
  }

  private async readRoom(input: AdmitInput, month: string): Promise<PgRoom> {
    try {
      const [r] = await this.sql`SELECT * FROM relay_room(${input.accountId}, ${input.keyId}, ${input.member?.userId ?? null}, ${month})`;
      if (!r) throw new ApiError("invalid_api_key", "The account this key charges no longer exists.");
      return roomOf(r);
    } catch (err) {
      throw isConnectionError(err) ? pgUnavailable() : err;
    }
  }

  private async reserve(input: AdmitInput, credits: number, tokens: number, month: string): Promise<{ outcome: Outcome; room: PgRoom }> {
    const admitted = JSON.stringify(input.admitted ?? { requestId: input.requestId, accountId: input.accountId, model: input.model });
    try {
      const [r] = await this.sql`SELECT * FROM relay_reserve(${input.requestId}, ${input.accountId}, ${input.keyId}, ${input.member?.userId ?? null},
        ${credits}, ${tokens}, ${input.spendLimit}, ${input.member?.monthlySpend ?? null}, ${input.monthlyTokens}, ${month},
        ${this.instanceId}, ${admitted}, ${Date.now()})`;
      return { outcome: r.outcome as Outcome, room: roomOf(r) };
    } catch (err) {
      throw isConnectionError(err) ? pgUnavailable() : err;
    }
  }

  private hold(input: AdmitInput, price: Hold["price"], p: { credits: number; tokens: number; inject: number | null }, slots: SlotRequest, r: PgRoom, rateStates: Hold["rateStates"]): ClusterHold {
    this.running.set(input.requestId, slots);
    this.inFlight.set(input.accountId, (this.inFlight.get(input.accountId) ?? 0) + 1);
    // Snapshots as of the reservation: what revocation checks compare against when a limit is lowered.
    const account: Account = { accountId: input.accountId, balance: r.credits, held: r.held, inFlight: 0, month: utcMonth(), monthTokens: r.monthTokens, heldTokens: r.heldTokens };
    const key: KeySpend | null = input.keyId === null ? null : { keyId: input.keyId, spent: r.keySpent, held: r.keyHeld };
    const member: MemberState | null = input.member ? { accountId: input.accountId, userId: input.member.userId, held: r.memberHeld, inFlight: 0, month: account.month, spent: r.memberSpent } : null;
    return {
      requestId: input.requestId, account, member, memberSpendLimit: input.member?.monthlySpend ?? null, key, price, credits: p.credits, tokens: p.tokens,
      spendLimit: input.spendLimit, injectMaxOutput: p.inject, tokenLimits: [], rates: null, rateStates, journal: null, released: false, slots,
    };
  }

  private async renew(): Promise<void> {
    if (this.running.size === 0) return;
    try {
      await this.limiter.renew([...this.running.values()]);
    } catch (err) {
      log.warn("could not renew running requests' leases", { error: String(err) });
    }
  }
}

/** The refusal for a reservation that kept losing to other instances' holds (the last plan fit, barely). */
function refusalOf(outcome: Outcome): ApiError {
  const codes: Partial<Record<Outcome, [ErrorCode, string]>> = {
    balance: ["quota_exceeded", "The account's available balance is held by other running requests. Retry when they finish, or add credits."],
    key: ["key_spend_limit_exceeded", "This key's spend limit is held by other running requests. Retry when they finish, or raise the key's spend limit."],
    member: ["member_spend_limit_exceeded", "Your monthly spend cap in this organization is held by other running requests. Retry when they finish."],
    tokens: ["monthly_quota_exceeded", "The account's monthly token quota is held by other running requests."],
  };
  const [code, message] = codes[outcome] ?? ["quota_exceeded", "The request could not be held."];
  return new ApiError(code, message, null, retryAfter);
}
