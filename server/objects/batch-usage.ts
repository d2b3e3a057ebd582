import type { AppContext } from "../context";
import type { ObjectRow } from "../../db/schema";
import { costOf, type Price, type PricedUsage } from "../billing/prices";
import { usageFromOpenAI } from "../translate/usage";
import { log } from "../log";
import { upstreamGet } from "./upstream-get";
import type { Used } from "./settle";

/** What a batch keeps in its plan: the batch price of each of its models at create (what it was held at). */
export type BatchPrices = { prices: Record<string, Price> };

/**
 * The output and error files a batch produced, recorded as the account's files on the batch's channel, so
 * the client's `files.content(output_file_id)` reaches them (and no other account can).
 */
export async function recordBatchFiles(ctx: AppContext, o: ObjectRow, seen: Record<string, unknown>): Promise<void> {
  for (const field of ["output_file_id", "error_file_id"] as const) {
    const id = seen[field];
    if (typeof id !== "string" || id === "") continue;
    if (await ctx.stores.objects.find("file", id, o.accountId)) continue;
    await ctx.stores.objects.record({
      kind: "file", upstreamId: id, channelId: o.channelId, accountId: o.accountId, keyId: o.keyId, status: "processed",
      meta: { id, object: "file", purpose: field === "output_file_id" ? "batch_output" : "batch_error", status: "processed" },
    });
  }
}

/**
 * The price a line's answer is charged at: its model's as the batch was held (an upstream may answer with
 * a dated name, `gpt-4o-mini-2024-07-18` for `gpt-4o-mini`: the longest held name it starts with), else
 * the dearest of the batch's models. Never a price the batch was not held at.
 */
export function priceOfLine(prices: Record<string, Price>, model: unknown): Price | null {
  const names = Object.keys(prices);
  if (names.length === 0) return null;
  if (typeof model === "string") {
    if (prices[model]) return prices[model]!;
    const prefix = names.filter((n) => model.startsWith(n)).sort((a, b) => b.length - a.length)[0];
    if (prefix) return prices[prefix]!;
  }
  return names.map((n) => prices[n]!).sort((a, b) => b.outputPerMTok + b.inputPerMTok - (a.outputPerMTok + a.inputPerMTok))[0]!;
}

/**
 * What a batch used, from its output file: each successful line's usage at the batch price its model was
 * held at (lines that failed cost nothing). Tokens are summed per price, then priced once per price, as the
 * hold was: the charge never exceeds the hold for usage within the lines' bounds. Null while the output file
 * cannot be read (the channel is down or disabled): the batch is settled on a later look.
 */
export async function batchUsed(ctx: AppContext, o: ObjectRow, seen: Record<string, unknown>): Promise<Used | null> {
  const prices = (o.plan as BatchPrices | null)?.prices ?? {};
  const outputId = seen.output_file_id;
  if (typeof outputId !== "string" || outputId === "") return { credits: 0, tokens: 0 };
  const channel = ctx.channels.all().find((c) => c.row.id === o.channelId && c.row.enabled);
  if (!channel) return null;
  let text: string;
  try {
    const res = await upstreamGet(channel, `/v1/files/${encodeURIComponent(outputId)}/content`);
    if (!res.ok) {
      log.warn("a batch's output file could not be read; settling later", { batch: o.upstreamId, status: res.status });
      return null;
    }
    text = await res.text();
  } catch (err) {
    log.warn("a batch's output file could not be read; settling later", { batch: o.upstreamId, error: String(err) });
    return null;
  }
  const byPrice = new Map<Price, { usage: PricedUsage; lines: number }>();
  let tokens = 0;
  let n = 0;
  for (const raw of text.split("\n")) {
    // A large output file is read a few hundred lines per event-loop turn, beside the requests running.
    if (++n % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    if (raw.trim() === "") continue;
    let line: { response?: { status_code?: unknown; body?: { model?: unknown; usage?: unknown } } };
    try {
      line = JSON.parse(raw);
    } catch {
      continue; // not a line we can read: nothing to charge for it
    }
    const r = line?.response;
    if (!r || typeof r.status_code !== "number" || r.status_code >= 300) continue;
    const u = usageFromOpenAI(r.body?.usage);
    const price = priceOfLine(prices, r.body?.model);
    if (!u || !price) continue;
    const acc = byPrice.get(price) ?? { usage: { input: 0, cacheRead: 0, cacheWrite: 0, output: 0 }, lines: 0 };
    acc.usage.input += u.input;
    acc.usage.cacheRead += u.cacheRead;
    acc.usage.cacheWrite += u.cacheWrite;
    acc.usage.output += u.output;
    acc.lines++;
    byPrice.set(price, acc);
    tokens += u.input + u.cacheRead + u.cacheWrite + u.output;
  }
  let credits = 0;
  for (const [price, { usage, lines }] of byPrice) credits += costOf(price, usage, false) + lines * price.perRequest;
  return { credits, tokens };
}
