import type { AppContext } from "../context";
import type { ObjectRow } from "../../db/schema";
import { costOf } from "../billing/prices";
import { usageFromOpenAI } from "../translate/usage";
import { log } from "../log";

/** A background response's terminal statuses (OpenAI's); anything else is still running. */
export const TERMINAL = new Set(["completed", "incomplete", "failed", "cancelled"]);

/**
 * Settles a prepaid object whose upstream copy has ended: its final usage priced at its model's price (a
 * response that failed without tokens costs nothing), capped at what it prepaid, and the rest refunded, in
 * one transaction that only the first to see the end wins (the poller, or a client's own GET). Says whether
 * this call settled it, and what it refunded.
 */
export async function settleIfEnded(ctx: AppContext, o: ObjectRow, seen: Record<string, unknown>): Promise<{ settled: boolean; refund: number }> {
  const status = typeof seen.status === "string" ? seen.status : null;
  if (o.prepaid <= 0 || o.settledAt !== null || status === null || !TERMINAL.has(status)) return { settled: false, refund: 0 };
  const u = usageFromOpenAI(seen.usage);
  const actual = u ? costOf(ctx.prices.get(o.model ?? ""), u, status === "completed") : 0;
  const refund = o.prepaid - Math.min(actual, o.prepaid);
  const won = await ctx.stores.objects.settle(o.id, status, refund > 0
    ? { amount: refund, ref: `refund:${o.kind}:${o.upstreamId}`, userId: null, keyId: o.keyId, note: `${o.kind} ${o.upstreamId} ${status}: used ${o.prepaid - refund} of ${o.prepaid} prepaid` }
    : null);
  if (!won) return { settled: false, refund: 0 };
  if (refund > 0) ctx.admission.credited(o.accountId, refund);
  log.info("settled a background object", { kind: o.kind, id: o.upstreamId, status, prepaid: o.prepaid, refund });
  return { settled: true, refund };
}
