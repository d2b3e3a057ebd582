import { ApiError } from "../errors";
import type { AppContext } from "../context";
import { affordableOutput, costOf, priceBookOf, type Price } from "../billing/prices";
import { accountsOf, type Account, type KeySpend } from "./accounts";

/** The smallest answer worth sending; below this the request is refused instead of truncated to nothing. */
export const MIN_OUTPUT_TOKENS = 16;
/** Output tokens held (and set as max_tokens) when the client sets no maximum and billing applies. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 8192;

export type AdmitInput = {
  requestId: string;
  userId: number;
  concurrency: number;
  monthlyTokens: number;
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
  /** The client's max output tokens, or null when it set none. */
  clientMaxOutput: number | null;
  /** False for endpoints without generated output (embeddings). */
  producesOutput: boolean;
};

/** What a request holds while it runs: one concurrency slot, credits, tokens and key spend. Released exactly once. */
export type Hold = {
  requestId: string;
  account: Account;
  key: KeySpend | null;
  price: Price;
  credits: number;
  tokens: number;
  /** The max output tokens to send upstream when the client set none, else null. */
  injectMaxOutput: number | null;
  released: boolean;
};

const retryAfter = { "retry-after": "1" };

/**
 * Takes a concurrency slot and holds the request's worst-case cost, or refuses with the matching error.
 * Synchronous on purpose: check and reserve happen with no await in between, so concurrent requests
 * cannot both spend the same credits.
 */
export function admit(ctx: AppContext, input: AdmitInput): Hold {
  const accounts = accountsOf(ctx);
  const account = accounts.account(input.userId);
  if (account.inFlight >= input.concurrency) {
    throw new ApiError("concurrency_limit_exceeded", `Too many requests in flight for this user (limit ${input.concurrency}).`, null, retryAfter);
  }
  const price = priceBookOf(ctx).get(input.model);
  const key = input.keyId === null ? null : accounts.keySpend(input.keyId);
  const room: Room = {
    balance: account.balance - account.held,
    key: key && input.spendLimit !== null ? input.spendLimit - key.spent - key.held : Infinity,
    tokens: input.monthlyTokens > 0 ? input.monthlyTokens - account.monthTokens - account.heldTokens : Infinity,
  };
  let p = plan(input, price, room, input.promptTokens);
  if (input.refinePromptTokens && (p instanceof ApiError || (p.inject !== null && p.inject < DEFAULT_MAX_OUTPUT_TOKENS))) {
    p = plan(input, price, room, input.refinePromptTokens());
  }
  if (p instanceof ApiError) throw p;
  const { credits, tokens, inject } = p;

  account.inFlight++;
  account.held += credits;
  account.heldTokens += tokens;
  if (key) key.held += credits;
  return { requestId: input.requestId, account, key, price, credits, tokens, injectMaxOutput: inject, released: false };
}

type Room = { balance: number; key: number; tokens: number };

/** The hold for a prompt bound, or the error that refuses it. Pure: nothing is reserved here. */
function plan(input: AdmitInput, price: Price, room: Room, promptTokens: number): { credits: number; tokens: number; inject: number | null } | ApiError {
  const billed = price.inputPerMTok > 0 || price.outputPerMTok > 0 || input.monthlyTokens > 0;
  let output = 0;
  let inject: number | null = null;
  if (input.producesOutput) {
    if (input.clientMaxOutput !== null) output = input.clientMaxOutput;
    else if (billed) {
      const byCredits = affordableOutput(price, promptTokens, room.balance);
      const byKey = affordableOutput(price, promptTokens, room.key);
      const byTokens = room.tokens - promptTokens;
      output = Math.min(DEFAULT_MAX_OUTPUT_TOKENS, byCredits, byKey, byTokens);
      if (output < MIN_OUTPUT_TOKENS) {
        if (byCredits < MIN_OUTPUT_TOKENS) return quota(room.balance);
        if (byKey < MIN_OUTPUT_TOKENS) return keyLimit();
        return monthly();
      }
      inject = output;
    }
  }
  const credits = costOf(price, promptTokens, output);
  const tokens = input.monthlyTokens > 0 ? promptTokens + output : 0;
  if (credits > room.balance) return quota(room.balance);
  if (credits > room.key) return keyLimit();
  if (tokens > room.tokens) return monthly();
  return { credits, tokens, inject };
}

const quota = (room: number) => new ApiError("quota_exceeded", `Insufficient credits for this request (available ${Math.max(0, room)}).`);
const keyLimit = () => new ApiError("key_spend_limit_exceeded", "This request would pass the key's spend limit.");
const monthly = () => {
  // The quota resets at the start of the next UTC month; tell the client so instead of "retry in a second".
  const now = new Date();
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return new ApiError("monthly_quota_exceeded", "This request would pass the user's monthly token quota.", null, { "retry-after": String(Math.ceil((next - now.getTime()) / 1000)) });
};

/**
 * Ends a hold: frees the slot, releases the held amounts and moves the actual cost (capped at the hold)
 * onto the live balance. Idempotent: a second call returns 0 and changes nothing. The caller persists
 * the returned cost through the settlement writer under the same request id.
 */
export function settle(hold: Hold, promptTokens: number, completionTokens: number): { cost: number; tokens: number } {
  if (hold.released) return { cost: 0, tokens: 0 };
  hold.released = true;
  const a = hold.account;
  a.inFlight--;
  a.held -= hold.credits;
  a.heldTokens -= hold.tokens;
  if (hold.key) hold.key.held -= hold.credits;
  const cost = Math.min(costOf(hold.price, promptTokens, completionTokens), hold.credits);
  const tokens = promptTokens + completionTokens;
  a.balance -= cost;
  a.monthTokens += tokens;
  if (hold.key) hold.key.spent += cost;
  return { cost, tokens };
}
