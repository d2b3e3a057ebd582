import { ApiError } from "../errors";
import type { AppContext } from "../context";
import type { JournalMark } from "../usage/journal";
import type { Admitted } from "../usage/journal-lines";
import { affordableOutput, costOf, holdCostOf, isPriced, type Price, type PricedUsage } from "../billing/prices";
import type { Account, Accounts, KeySpend, MemberState } from "./accounts";
import { rateHeaders, type RateLimit, type RateState, type Taken } from "./rate-limits";

/** The smallest answer worth sending; below this the request is refused instead of truncated to nothing. */
export const MIN_OUTPUT_TOKENS = 16;
/** Output tokens held (and set as max_tokens) when the client sets no maximum and billing applies. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 8192;

/** A member key's caps in its org (each null: none). */
export type MemberCaps = { userId: number; monthlySpend: number | null; concurrency: number | null };

export type AdmitInput = {
  requestId: string;
  /** The account charged: the key's (a user's own, or an org), or the session user's own. */
  accountId: number;
  concurrency: number;
  monthlyTokens: number;
  /** For a member key: the member's caps in the org, on top of the org's. */
  member?: MemberCaps | null;
  keyId: number | null;
  spendLimit: number | null;
  model: string;
  /** A cheap upper bound of the prompt's tokens (e.g. from the body's size). */
  promptTokens: number;
  /**
   * A tighter (tokenizer) bound, computed only when the cheap one would bind: tokenizing every prompt
   * costs measurable throughput, and with an ample balance the cheap bound changes nothing.
   */
  refinePromptTokens?: () => number;
  /** The client's max output tokens per answer, or null when it set none. */
  clientMaxOutput: number | null;
  /** Answers generated for the request (`n`, `best_of`): each may use the whole output cap. @default 1 */
  choices?: number;
  /** False for endpoints without generated output (embeddings). */
  producesOutput: boolean;
  /** Per-minute limits that apply (the key's, the account's, the member's); each null when not set. */
  rates?: { scope: RateLimit["scope"]; id: number | string; rpm: number | null; tpm: number | null }[];
  /** The request as the journal records it at admission; a cluster hold keeps it, so another instance can log the request if this one dies. */
  admitted?: Admitted;
  /**
   * A worst case worked out by the caller (a batch: every line's prompt bound and output cap at the batch
   * price), held as it is instead of one prompt and output at the model's price. `what` names it in refusals.
   */
  worstCase?: { credits: number; tokens: number; what: string };
};

/** What a request holds while it runs: one concurrency slot, credits, tokens and key spend. Released exactly once. */
export type Hold = {
  requestId: string;
  account: Account;
  /** A member key's share of the org, or null. */
  member: MemberState | null;
  /** The member's monthly spend cap at admission (null: none). */
  memberSpendLimit: number | null;
  key: KeySpend | null;
  price: Price;
  credits: number;
  tokens: number;
  /** The key's spend limit at admission (null: none); settlement may charge past the hold only up to it. */
  spendLimit: number | null;
  /** The max output tokens to send upstream when the client set none, else null. */
  injectMaxOutput: number | null;
  /** The token limits taken at admission (corrected to the actual usage at settlement). */
  tokenLimits: Taken[];
  /** Where the token limits live, to correct them at settlement. */
  rates: import("./rate-limits").RateLimiter | null;
  /** The limits' state after admission, for the x-ratelimit-* headers of the answer (empty: none apply). */
  rateStates: RateState[];
  /** Its lines in the request journal (server/usage/journal.ts), set once it is journaled as admitted. */
  journal: JournalMark | null;
  released: boolean;
};

export const retryAfter = { "retry-after": "1" };

/**
 * Takes a concurrency slot and holds the request's worst-case cost, or refuses with the matching error.
 * Synchronous on purpose: check and reserve happen with no await in between, so concurrent requests
 * cannot both spend the same credits.
 */
export function admit(ctx: AppContext, accounts: Accounts, input: AdmitInput): Hold {
  const account = accounts.account(input.accountId);
  if (account.inFlight >= input.concurrency) {
    throw new ApiError("concurrency_limit_exceeded", `Too many requests in flight for this account (limit ${input.concurrency}).`, null, retryAfter);
  }
  const caps = input.member ?? null;
  const member = caps ? accounts.member(input.accountId, caps.userId) : null;
  if (member && caps?.concurrency !== null && caps?.concurrency !== undefined && member.inFlight >= caps.concurrency) {
    throw new ApiError("concurrency_limit_exceeded", `Too many requests in flight for your membership of this organization (limit ${caps.concurrency}).`, null, retryAfter);
  }
  const price = ctx.prices.get(input.model);
  const key = input.keyId === null ? null : accounts.keySpend(input.keyId);
  const memberSpendLimit = caps?.monthlySpend ?? null;
  const room: Room = {
    balance: account.balance - account.held,
    key: key && input.spendLimit !== null ? input.spendLimit - key.spent - key.held : Infinity,
    member: member && memberSpendLimit !== null ? memberSpendLimit - member.spent - member.held : Infinity,
    tokens: input.monthlyTokens > 0 ? input.monthlyTokens - account.monthTokens - account.heldTokens : Infinity,
  };
  const tokenLimited = input.rates?.some((r) => r.tpm !== null) ?? false;
  let p = plan(input, price, room, input.promptTokens, tokenLimited);
  if (input.refinePromptTokens && (p instanceof ApiError || (p.inject !== null && p.inject < DEFAULT_MAX_OUTPUT_TOKENS) || tokenLimited)) {
    p = plan(input, price, room, input.refinePromptTokens(), tokenLimited);
  }
  if (p instanceof ApiError) throw p;
  const { credits, tokens, inject, tokenBound } = p;

  // Rate limits last: a request refused for anything else counts nothing against them.
  const limits = rateLimitsOf(input, tokenBound);
  let rateStates: RateState[] = [];
  let taken: Taken[] = [];
  if (limits.length > 0) {
    const d = accounts.rates.take(limits);
    if (!d.ok) throw rateRefusal(d.refused, d.retryAfterMs, d.states);
    rateStates = d.states;
    taken = d.taken.filter((t) => t.limit.kind === "tokens");
  }

  account.inFlight++;
  account.held += credits;
  account.heldTokens += tokens;
  if (key) key.held += credits;
  if (member) {
    member.inFlight++;
    member.held += credits;
  }
  return {
    requestId: input.requestId, account, member, memberSpendLimit, key, price, credits, tokens, spendLimit: input.spendLimit,
    injectMaxOutput: inject, tokenLimits: taken, rates: limits.length ? accounts.rates : null, rateStates, journal: null, released: false,
  };
}

export type Room = { balance: number; key: number; member: number; tokens: number };

/**
 * The hold for a prompt bound, or the error that refuses it. Pure: nothing is reserved here.
 * The prompt counts once; the output cap counts once per answer (`choices`).
 */
export function plan(input: AdmitInput, price: Price, room: Room, promptTokens: number, tokenLimited = false): { credits: number; tokens: number; inject: number | null; tokenBound: number } | ApiError {
  if (input.worstCase) return planWorstCase(input.worstCase, input.monthlyTokens > 0, room);
  // A token rate limit needs a bound on the output as much as a price does.
  const billed = isPriced(price) || input.monthlyTokens > 0 || tokenLimited;
  const choices = input.choices ?? 1;
  let perChoice = 0;
  let inject: number | null = null;
  if (input.producesOutput) {
    if (input.clientMaxOutput !== null) perChoice = input.clientMaxOutput;
    else if (billed) {
      const byCredits = Math.floor(affordableOutput(price, promptTokens, room.balance) / choices);
      const byKey = Math.floor(affordableOutput(price, promptTokens, Math.min(room.key, room.member)) / choices);
      const byTokens = Math.floor((room.tokens - promptTokens) / choices);
      perChoice = Math.min(DEFAULT_MAX_OUTPUT_TOKENS, byCredits, byKey, byTokens);
      if (perChoice < MIN_OUTPUT_TOKENS) {
        const need = { credits: holdCostOf(price, promptTokens, MIN_OUTPUT_TOKENS * choices), output: MIN_OUTPUT_TOKENS, choices };
        if (byCredits < MIN_OUTPUT_TOKENS) return quota(room.balance, need, byCredits, false);
        if (byKey < MIN_OUTPUT_TOKENS) return room.key <= room.member ? keyLimit(room.key, need, byKey, false) : memberLimit(room.member, need, byKey, false);
        return monthly();
      }
      inject = perChoice;
    }
  }
  const output = perChoice * choices;
  const credits = holdCostOf(price, promptTokens, output);
  const tokens = input.monthlyTokens > 0 ? promptTokens + output : 0;
  const need = { credits, output: perChoice, choices };
  const capped = input.clientMaxOutput !== null && input.producesOutput;
  if (credits > room.balance) return quota(room.balance, need, fits(price, promptTokens, room.balance, choices), capped);
  if (credits > room.key) return keyLimit(room.key, need, fits(price, promptTokens, room.key, choices), capped);
  if (credits > room.member) return memberLimit(room.member, need, fits(price, promptTokens, room.member, choices), capped);
  if (tokens > room.tokens) return monthly();
  return { credits, tokens, inject, tokenBound: promptTokens + output };
}

/** A caller's own worst case, held whole or refused (nothing to shorten: its output caps are in a file upstream). */
function planWorstCase(w: { credits: number; tokens: number; what: string }, quotaed: boolean, room: Room): ReturnType<typeof plan> {
  const held = `${w.what} holds ${w.credits} credits (every line's prompt bound plus its output cap, at the batch price), but`;
  if (w.credits > room.balance) return new ApiError("quota_exceeded", `${held} the balance has ${Math.max(0, room.balance)}. Add credits, or send fewer lines or lower their max tokens.`);
  if (w.credits > room.key) return new ApiError("key_spend_limit_exceeded", `${held} this key's spend limit leaves ${Math.max(0, room.key)}. Raise this key's spend limit (or use another key), or send fewer lines.`);
  if (w.credits > room.member) return new ApiError("member_spend_limit_exceeded", `${held} your monthly spend cap in this organization leaves ${Math.max(0, room.member)}. Ask an owner or admin of the organization to raise it, or send fewer lines.`);
  const tokens = quotaed ? w.tokens : 0;
  if (tokens > room.tokens) return monthly();
  return { credits: w.credits, tokens, inject: null, tokenBound: w.tokens };
}

/** The per-minute limits a request takes: one request against each rpm, its token bound against each tpm. */
export function rateLimitsOf(input: AdmitInput, tokenBound: number): RateLimit[] {
  const out: RateLimit[] = [];
  for (const r of input.rates ?? []) {
    if (r.rpm !== null) out.push({ id: `${r.scope}:${r.id}:rpm`, kind: "requests", limit: r.rpm, cost: 1, scope: r.scope });
    if (r.tpm !== null) out.push({ id: `${r.scope}:${r.id}:tpm`, kind: "tokens", limit: r.tpm, cost: Math.max(1, tokenBound), scope: r.scope });
  }
  return out;
}

const whose: Record<RateLimit["scope"], string> = { key: "this key's", account: "the account's", member: "your membership's" };

export function rateRefusal(l: RateLimit, retryAfterMs: number, states: RateState[]): ApiError {
  const unit = l.kind === "requests" ? "requests" : "tokens";
  const headers = rateHeaders(states);
  if (!Number.isFinite(retryAfterMs)) {
    return new ApiError("rate_limit_exceeded", `This request holds ${l.cost} tokens (the prompt plus the output cap), more than ${whose[l.scope]} limit of ${l.limit} tokens per minute allows; lower max_tokens.`, null, headers);
  }
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ApiError("rate_limit_exceeded", `Rate limit reached: ${whose[l.scope]} limit of ${l.limit} ${unit} per minute. Retry in ${seconds} s.`, null, { ...headers, "retry-after": String(seconds) });
}

/** The largest output cap per answer that `budget` pays for (-1: not even the prompt fits). */
function fits(price: Price, promptTokens: number, budget: number, choices: number): number {
  const n = affordableOutput(price, promptTokens, budget);
  return n < 0 ? -1 : Math.floor(Math.min(n, Number.MAX_SAFE_INTEGER) / choices);
}

type Need = { credits: number; output: number; choices: number };

/** Why a hold does not fit, and what would: the hold covers the prompt bound plus the output cap per answer. */
function shortMessage(what: string, remedy: string, room: number, need: Need, fit: number, capped: boolean): string {
  const available = Math.max(0, room);
  const answers = need.choices > 1 ? ` × ${need.choices} answers` : "";
  const held = `This request holds ${need.credits} credits (the prompt plus ${need.output} output tokens${answers}), but ${what} ${available}.`;
  const Remedy = remedy[0]!.toUpperCase() + remedy.slice(1);
  if (!capped) return `${held} ${Remedy}, or use a cheaper model.`;
  if (fit >= MIN_OUTPUT_TOKENS) return `${held} The hold covers max_tokens in full; at most ${fit} output tokens${need.choices > 1 ? " per answer" : ""} fit: lower max_tokens${need.choices > 1 ? " or n" : ""}, or ${remedy}.`;
  if (fit < 0) return `${held} Not even the prompt fits: ${remedy}, or send a shorter prompt.`;
  return `${held} Not even ${MIN_OUTPUT_TOKENS} output tokens fit; ${remedy}.`;
}

const quota = (room: number, need: Need, fit: number, capped: boolean) =>
  new ApiError("quota_exceeded", shortMessage("the balance has", "add credits", room, need, fit, capped));
const keyLimit = (room: number, need: Need, fit: number, capped: boolean) =>
  new ApiError("key_spend_limit_exceeded", shortMessage("this key's spend limit leaves", "raise this key's spend limit (or use another key)", room, need, fit, capped));
const memberLimit = (room: number, need: Need, fit: number, capped: boolean) =>
  new ApiError("member_spend_limit_exceeded", shortMessage("your monthly spend cap in this organization leaves", "ask an owner or admin of the organization to raise your monthly spend cap", room, need, fit, capped));
const monthly = () => {
  // The quota resets at the start of the next UTC month; tell the client so instead of "retry in a second".
  const now = new Date();
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return new ApiError("monthly_quota_exceeded", "This request would pass the account's monthly token quota (it resets at the start of the next UTC month).", null, { "retry-after": String(Math.ceil((next - now.getTime()) / 1000)) });
};

/**
 * Ends a hold: frees the slot, releases the held amounts and moves the actual cost onto the live balance.
 * The cost is what the reported usage prices at. Within the hold it is always payable; past it (an upstream
 * that ignored the output cap) it is charged as far as the balance not held by other requests, and the key's
 * spend limit, allow: the balance never goes negative, and what could not be charged is returned as
 * `shortfall` for the usage row and /metrics. Idempotent: a second call returns zeros and changes nothing.
 * The caller persists the returned cost through the settlement writer under the same request id.
 */
export function settle(hold: Hold, usage: PricedUsage, succeeded = true, prepay = false): { cost: number; tokens: number; shortfall: number } {
  if (hold.released) return { cost: 0, tokens: 0, shortfall: 0 };
  hold.released = true;
  const a = hold.account;
  a.inFlight--;
  a.held -= hold.credits;
  a.heldTokens -= hold.tokens;
  if (hold.key) hold.key.held -= hold.credits;
  const m = hold.member;
  if (m) {
    m.inFlight--;
    m.held -= hold.credits;
  }
  // Prepaid (a background response): the whole hold now; what it does not use is refunded when it ends.
  const actual = prepay ? Math.max(hold.credits, costOf(hold.price, usage, succeeded)) : costOf(hold.price, usage, succeeded);
  let cost = actual;
  if (actual > hold.credits) {
    // Nothing of this request is held any more, so the free balance includes its own released hold.
    let payable = a.balance - a.held;
    if (hold.key && hold.spendLimit !== null) payable = Math.min(payable, hold.spendLimit - hold.key.spent - hold.key.held);
    if (m && hold.memberSpendLimit !== null) payable = Math.min(payable, hold.memberSpendLimit - m.spent - m.held);
    cost = Math.max(hold.credits, Math.min(actual, payable));
  }
  const tokens = usage.input + usage.cacheRead + usage.cacheWrite + usage.output;
  for (const t of hold.tokenLimits) hold.rates?.correct(t, tokens);
  a.balance -= cost;
  a.monthTokens += tokens;
  if (hold.key) hold.key.spent += cost;
  if (m) m.spent += cost;
  return { cost, tokens, shortfall: actual - cost };
}
