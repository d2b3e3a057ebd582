import type { SQL } from "bun";
import type { AppContext } from "../context";
import { ApiError, type ErrorCode } from "../errors";
import { costOf, type PricedUsage } from "../billing/prices";
import { utcMonth } from "../limits/month";
import { plan, rateLimitsOf, rateRefusal, retryAfter, type AdmitInput, type Hold, type Room } from "../limits/admission";
import type { Account, KeySpend, MemberState } from "../limits/accounts";
import type { Admission, LiveAccount, Settled, SettledLater } from "../limits/port";
import type { SlotLimiter, SlotRequest } from "../limits/slots";
import { isConnectionError } from "../usage/pg-settlement";
import { log } from "../log";
import { ReserveBatcher } from "./reserve-batch";

/** What PostgreSQL says an account, key and member have, as readRoom and relay_reserve return it. */
type PgRoom = {
  credits: number; held: number; heldTokens: number; monthTokens: number;
  keySpent: number; keyHeld: number; memberSpent: number; memberHeld: number;
};

type Outcome = "ok" | "balance" | "key" | "member" | "tokens" | "duplicate" | "no_account";

/** A cluster hold: the embedded Hold's fields (snapshots, for views), plus what to release in the slot limiter. */
type ClusterHold = Hold & { slots: SlotRequest };

/** How long a room read from PostgreSQL is good enough to plan with (the reservation re-checks it exactly). */
const ROOM_TTL_MS = 2000;
/** Slots and hold are asked for at once when the free balance covers this many such holds (see admit). */
const PARALLEL_HEADROOM = 64;
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
  private readonly batcher: ReserveBatcher;
  /**
   * Per key with requests running here: what they hold, and the key's spend as last read (a balance-only
   * reservation does not read it; revocation takes the larger of this and the stored spend). Shared by the
   * key's holds, so lowering a spend limit cuts this instance's newest requests as in embedded mode.
   */
  private readonly keys = new Map<number, KeySpend>();

  constructor(
    private readonly ctx: AppContext,
    private readonly sql: SQL,
    private readonly limiter: SlotLimiter,
    private readonly instanceId: string,
    leaseTtlMs: number,
  ) {
    this.batcher = new ReserveBatcher(sql, instanceId);
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
      // With a balance far above the hold, the slots and the hold are asked for at once (one round trip of
      // waiting instead of two); a refusal of either takes the other back. Near the balance they go one
      // after the other, so a request refused its slot never holds, even briefly, credits another needs.
      const together = r.balance >= p.credits * PARALLEL_HEADROOM;
      let d: Awaited<ReturnType<SlotLimiter["take"]>>;
      let outcome: Outcome;
      if (together) {
        const [taken, reserved] = await Promise.allSettled([this.limiter.take(slots), this.reserve(input, p.credits, p.tokens, month)]);
        const tookSlots = taken.status === "fulfilled" && taken.value.ok;
        const held = reserved.status === "fulfilled" && reserved.value.outcome === "ok";
        if (taken.status === "rejected" || !tookSlots) {
          if (held) await this.cancelHold(input.requestId);
          if (taken.status === "rejected") throw taken.reason;
        }
        if (reserved.status === "rejected") {
          if (tookSlots) await this.limiter.undo(slots).catch(() => {});
          throw reserved.reason;
        }
        d = (taken as PromiseFulfilledResult<typeof d>).value;
        if (!d.ok) throw slotRefusal(d);
        outcome = reserved.value.outcome;
        room = reserved.value.room;
      } else {
        d = await this.limiter.take(slots);
        if (!d.ok) throw slotRefusal(d);
        try {
          const res = await this.reserve(input, p.credits, p.tokens, month);
          outcome = res.outcome;
          room = res.room;
        } catch (err) {
          await this.limiter.undo(slots).catch(() => {});
          throw err;
        }
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

  settle(hold: Hold, usage: PricedUsage, succeeded: boolean, prepay = false): Settled {
    if (hold.released) return { cost: 0, tokens: 0, shortfall: 0 };
    hold.released = true;
    const h = hold as ClusterHold;
    const actual = prepay ? hold.credits : costOf(hold.price, usage, succeeded);
    const cost = Math.min(actual, hold.credits);
    const tokens = usage.input + usage.cacheRead + usage.cacheWrite + usage.output;
    this.running.delete(hold.requestId);
    if (hold.key) {
      hold.key.held -= hold.credits;
      hold.key.spent += cost;
      if (hold.key.held <= 0 && this.keys.get(hold.key.keyId) === hold.key) this.keys.delete(hold.key.keyId);
    }
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

  /** PostgreSQL has the settled object's refund and tokens already: read them again. */
  settledLater(s: SettledLater): void {
    this.credited(s.accountId);
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
      const member = input.member?.userId ?? null;
      const [r] = await this.sql`
        SELECT a.credits, a.held, a.held_tokens,
          coalesce((SELECT t.tokens FROM token_usage t WHERE t.account_id = a.id AND t.month = ${month}), 0) AS month_tokens,
          coalesce((SELECT k.spent FROM api_keys k WHERE k.id = ${input.keyId}), 0) AS key_spent,
          coalesce((SELECT k.held FROM api_keys k WHERE k.id = ${input.keyId}), 0) AS key_held,
          coalesce((SELECT s.credits FROM member_spend s WHERE s.account_id = a.id AND s.user_id = ${member} AND s.month = ${month}), 0) AS member_spent,
          coalesce((SELECT m.held FROM memberships m WHERE m.account_id = a.id AND m.user_id = ${member}), 0) AS member_held
        FROM accounts a WHERE a.id = ${input.accountId}`;
      if (!r) throw new ApiError("invalid_api_key", "The account this key charges no longer exists.");
      return roomOf(r);
    } catch (err) {
      throw isConnectionError(err) ? pgUnavailable() : err;
    }
  }

  private async reserve(input: AdmitInput, credits: number, tokens: number, month: string): Promise<{ outcome: Outcome; room: PgRoom }> {
    const admitted = JSON.stringify(input.admitted ?? { requestId: input.requestId, accountId: input.accountId, model: input.model });
    // Most requests have only the balance to check: one conditional UPDATE and the hold's INSERT in one
    // statement, twice as fast on the server as relay_reserve. The key's and member's held amounts are kept
    // only for keys with a spend limit and for member keys (what relay_reserve checks them against), so a
    // spend limit set on a key while its requests run counts only the requests admitted after it.
    if (input.spendLimit === null && !input.member && input.monthlyTokens === 0) return this.reserveBalance(input, credits, admitted);
    try {
      const [r] = await this.sql`SELECT * FROM relay_reserve(${input.requestId}, ${input.accountId}, ${input.keyId}, ${input.member?.userId ?? null},
        ${credits}, ${tokens}, ${input.spendLimit}, ${input.member?.monthlySpend ?? null}, ${input.monthlyTokens}, ${month},
        ${this.instanceId}, ${admitted}, ${Date.now()})`;
      return { outcome: r.outcome as Outcome, room: roomOf(r) };
    } catch (err) {
      throw isConnectionError(err) ? pgUnavailable() : err;
    }
  }

  /** Takes back a hold reserved beside slots that were refused (relay_cancel_hold, migration 0005). */
  private async cancelHold(requestId: string): Promise<void> {
    try {
      await this.sql`SELECT relay_cancel_hold(${requestId})`;
    } catch (err) {
      // Not lost: the refusal's usage row is settled under the same request id, and settling deletes its hold.
      log.warn("could not take back a hold beside a refused slot", { id: requestId, error: String(err) });
    }
  }

  private async reserveBalance(input: AdmitInput, credits: number, admitted: string): Promise<{ outcome: Outcome; room: PgRoom }> {
    let o;
    try {
      o = await this.batcher.reserve({ requestId: input.requestId, accountId: input.accountId, credits, admitted });
    } catch (err) {
      throw isConnectionError(err) ? pgUnavailable() : err;
    }
    return { outcome: o.outcome, room: { credits: o.credits, held: o.held, heldTokens: o.heldTokens, monthTokens: 0, keySpent: 0, keyHeld: 0, memberSpent: 0, memberHeld: 0 } };
  }

  private keySpend(keyId: number, r: PgRoom, credits: number): KeySpend {
    let k = this.keys.get(keyId);
    if (!k) this.keys.set(keyId, (k = { keyId, spent: 0, held: 0 }));
    k.spent = Math.max(k.spent, r.keySpent);
    k.held += credits;
    return k;
  }

  private hold(input: AdmitInput, price: Hold["price"], p: { credits: number; tokens: number; inject: number | null }, slots: SlotRequest, r: PgRoom, rateStates: Hold["rateStates"]): ClusterHold {
    this.running.set(input.requestId, slots);
    this.inFlight.set(input.accountId, (this.inFlight.get(input.accountId) ?? 0) + 1);
    // Snapshots as of the reservation: what revocation checks compare against when a limit is lowered.
    const account: Account = { accountId: input.accountId, balance: r.credits, held: r.held, inFlight: 0, month: utcMonth(), monthTokens: r.monthTokens, heldTokens: r.heldTokens };
    const key = input.keyId === null ? null : this.keySpend(input.keyId, r, p.credits);
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

/** A refused take: its rate limit's or its concurrency cap's error. */
function slotRefusal(d: Extract<Awaited<ReturnType<SlotLimiter["take"]>>, { ok: false }>): ApiError {
  if (d.kind === "rate") return rateRefusal(d.refused, d.retryAfterMs, d.states);
  const whose = d.slot.scope === "account" ? "this account" : "your membership of this organization";
  return new ApiError("concurrency_limit_exceeded", `Too many requests in flight for ${whose} (limit ${d.slot.cap}).`, null, retryAfter);
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
