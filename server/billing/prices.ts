import { z } from "zod";
import type { PriceRow } from "../../db/schema";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { strictObject } from "../http/strict-object";

/**
 * Integer credits per million tokens, per model. Cache reads and writes cost the input rate unless set;
 * `perRequest` is added once per successful call.
 */
export type Price = { inputPerMTok: number; outputPerMTok: number; cachedInputPerMTok: number | null; cacheWritePerMTok: number | null; perRequest: number; batchDiscount: number };
const FREE: Price = { inputPerMTok: 0, outputPerMTok: 0, cachedInputPerMTok: null, cacheWritePerMTok: null, perRequest: 0, batchDiscount: 50 };

/** Token counts as they are priced: `input` excludes the cache reads and writes counted apart. */
export type PricedUsage = { input: number; cacheRead: number; cacheWrite: number; output: number };

const rate = z.number().int().min(0).max(1e12);
export const setPriceInput = strictObject({
  inputPerMTok: rate,
  outputPerMTok: rate,
  cachedInputPerMTok: rate.nullable().default(null),
  cacheWritePerMTok: rate.nullable().default(null),
  perRequest: rate.default(0),
  /** Percent off every rate for batch work. */
  batchDiscount: z.number().int().min(0).max(100).default(50),
});

const priceOf = (r: PriceRow): Price => ({
  inputPerMTok: r.inputPerMTok, outputPerMTok: r.outputPerMTok, cachedInputPerMTok: r.cachedInputPerMTok,
  cacheWritePerMTok: r.cacheWritePerMTok, perRequest: r.perRequest, batchDiscount: r.batchDiscount,
});

/** Prices per model, cached in memory (reloaded on every write); a model without a price costs 0. */
export class PriceBook {
  private byModel = new Map<string, Price>();
  constructor(private readonly ctx: AppContext) {}
  /** Reads every price again (at start, and after every write). */
  async reload(): Promise<void> {
    this.byModel = new Map((await this.ctx.stores.prices.list()).map((r) => [r.model, priceOf(r)]));
  }
  get(model: string): Price {
    return this.byModel.get(model) ?? FREE;
  }
}


/**
 * ceil((a·ra + b·rb + c·rc + d·rd) / 1e6), exact in integers (BigInt past 2^53). Four terms as scalars, no
 * array: it runs at every admission and settlement.
 */
function credits4(a: number, ra: number, b: number, rb: number, c: number, rc: number, d: number, rd: number): number {
  const sum = a * ra + b * rb + c * rc + d * rd;
  if (Number.isSafeInteger(sum)) return Math.ceil(sum / 1_000_000);
  const big = BigInt(a) * BigInt(ra) + BigInt(b) * BigInt(rb) + BigInt(c) * BigInt(rc) + BigInt(d) * BigInt(rd);
  return Number((big + 999_999n) / 1_000_000n);
}

/**
 * Credits for a finished request: ceil((input·in + cacheRead·cached + cacheWrite·write + output·out) / 1e6),
 * plus the per-request price when it succeeded.
 */
export function costOf(price: Price, u: PricedUsage, succeeded = true): number {
  const input = price.inputPerMTok;
  return credits4(u.input, input, u.cacheRead, price.cachedInputPerMTok ?? input, u.cacheWrite, price.cacheWritePerMTok ?? input, u.output, price.outputPerMTok) +
    (succeeded ? price.perRequest : 0);
}

/** The dearest rate a prompt token can cost: a hold cannot know which tokens the provider will find cached. */
function worstInputRate(p: Price): number {
  return Math.max(p.inputPerMTok, p.cachedInputPerMTok ?? 0, p.cacheWritePerMTok ?? 0);
}

/** The worst case of a request not yet made: every prompt token at the dearest input rate, the whole output, the per-request price. */
export function holdCostOf(price: Price, promptTokens: number, outputTokens: number): number {
  return credits4(promptTokens, worstInputRate(price), outputTokens, price.outputPerMTok, 0, 0, 0, 0) + price.perRequest;
}

/**
 * The price of work sent as a batch: every rate `batchDiscount` percent lower, rounded up to whole credits
 * per million tokens (a discount never makes a priced rate free).
 */
export function batchPriceOf(p: Price): Price {
  const off = (r: number) => (r === 0 ? 0 : Math.max(1, Math.ceil((r * (100 - p.batchDiscount)) / 100)));
  return {
    inputPerMTok: off(p.inputPerMTok), outputPerMTok: off(p.outputPerMTok),
    cachedInputPerMTok: p.cachedInputPerMTok === null ? null : off(p.cachedInputPerMTok),
    cacheWritePerMTok: p.cacheWritePerMTok === null ? null : off(p.cacheWritePerMTok),
    perRequest: off(p.perRequest), batchDiscount: p.batchDiscount,
  };
}

/** Whether using the model costs anything at all. */
export function isPriced(p: Price): boolean {
  return p.inputPerMTok > 0 || p.outputPerMTok > 0 || (p.cachedInputPerMTok ?? 0) > 0 || (p.cacheWritePerMTok ?? 0) > 0 || p.perRequest > 0;
}

/** The most output tokens `budget` credits pay for after the prompt (worst case); Infinity when output is free. */
export function affordableOutput(price: Price, promptTokens: number, budget: number): number {
  if (price.outputPerMTok === 0) return holdCostOf(price, promptTokens, 0) <= budget ? Infinity : -1;
  const room = (budget - price.perRequest) * 1_000_000 - promptTokens * worstInputRate(price);
  return room < 0 ? -1 : Math.floor(room / price.outputPerMTok);
}

export function listPrices(ctx: AppContext): Promise<PriceRow[]> {
  return ctx.stores.prices.list();
}

export async function setPrice(ctx: AppContext, model: string, raw: unknown, actor: string): Promise<PriceRow> {
  const p = setPriceInput.parse(raw);
  if (!model || model.length > 200) throw new ApiError("invalid_request", "model must be 1-200 characters", "model");
  const row = await ctx.stores.prices.set(model, p, { actor, action: "price.set", target: `model:${model}`, detail: { ...p } });
  await ctx.prices.reload();
  return row;
}

export async function deletePrice(ctx: AppContext, model: string, actor: string): Promise<void> {
  const deleted = await ctx.stores.prices.delete(model, { actor, action: "price.delete", target: `model:${model}` });
  if (!deleted) throw new ApiError("not_found", `no price for model ${model}`, "model");
  await ctx.prices.reload();
}
