import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { prices, type PriceRow } from "../../db/schema";
import { recordAudit } from "../audit/audit";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { strictObject } from "../http/strict-object";

export type Price = { inputPerMTok: number; outputPerMTok: number };
const FREE: Price = { inputPerMTok: 0, outputPerMTok: 0 };

export const setPriceInput = strictObject({
  inputPerMTok: z.number().int().min(0).max(1e12),
  outputPerMTok: z.number().int().min(0).max(1e12),
});

/** Prices per model, cached in memory (reloaded on every write); a model without a price costs 0. */
export class PriceBook {
  private byModel = new Map<string, Price>();
  constructor(private readonly ctx: AppContext) {
    this.reload();
  }
  reload(): void {
    this.byModel = new Map(this.ctx.db.select().from(prices).all().map((r) => [r.model, { inputPerMTok: r.inputPerMTok, outputPerMTok: r.outputPerMTok }]));
  }
  get(model: string): Price {
    return this.byModel.get(model) ?? FREE;
  }
}

export function priceBookOf(ctx: AppContext): PriceBook {
  return (ctx.ext.prices ??= new PriceBook(ctx)) as PriceBook;
}

/** Credits for a request: ceil((prompt·in + completion·out) / 1e6), exact in integers (BigInt past 2^53). */
export function costOf(price: Price, promptTokens: number, completionTokens: number): number {
  const a = promptTokens * price.inputPerMTok + completionTokens * price.outputPerMTok;
  if (Number.isSafeInteger(a)) return Math.ceil(a / 1_000_000);
  const big = BigInt(promptTokens) * BigInt(price.inputPerMTok) + BigInt(completionTokens) * BigInt(price.outputPerMTok);
  return Number((big + 999_999n) / 1_000_000n);
}

/** The most output tokens `budget` credits pay for after the prompt; Infinity when output is free. */
export function affordableOutput(price: Price, promptTokens: number, budget: number): number {
  if (price.outputPerMTok === 0) return costOf(price, promptTokens, 0) <= budget ? Infinity : -1;
  const room = budget * 1_000_000 - promptTokens * price.inputPerMTok;
  return room < 0 ? -1 : Math.floor(room / price.outputPerMTok);
}

export function listPrices(ctx: AppContext): PriceRow[] {
  return ctx.db.select().from(prices).orderBy(asc(prices.model)).all();
}

export function setPrice(ctx: AppContext, model: string, raw: unknown, actor: string): PriceRow {
  const p = setPriceInput.parse(raw);
  if (!model || model.length > 200) throw new ApiError("invalid_request", "model must be 1-200 characters", "model");
  const row = ctx.db.$client.transaction(() => {
    const r = ctx.db.insert(prices).values({ model, ...p, updatedAt: Date.now() })
      .onConflictDoUpdate({ target: prices.model, set: { ...p, updatedAt: Date.now() } }).returning().get();
    recordAudit(ctx, actor, "price.set", `model:${model}`, p);
    return r;
  }).immediate();
  priceBookOf(ctx).reload();
  return row;
}

export function deletePrice(ctx: AppContext, model: string, actor: string): void {
  const existing = ctx.db.select().from(prices).where(eq(prices.model, model)).get();
  if (!existing) throw new ApiError("not_found", `no price for model ${model}`, "model");
  ctx.db.$client.transaction(() => {
    ctx.db.delete(prices).where(eq(prices.model, model)).run();
    recordAudit(ctx, actor, "price.delete", `model:${model}`);
  }).immediate();
  priceBookOf(ctx).reload();
}
