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
  const used = u ? costOf(ctx.prices.get(o.model ?? ""), u, status === "completed") : 0;
  const r = await ctx.stores.objects.settle(o.id, {
    status, used, ref: `refund:${o.kind}:${o.upstreamId}`, note: `${o.kind} ${o.upstreamId} ${status}: used ${used} of ${o.prepaid} prepaid`,
  });
  // Its prepaying request is not committed yet (the writer's next batch, or a journal replay): next time.
  if (r === "pending" || !r.settled) return { settled: false, refund: 0 };
  if (r.refund > 0) ctx.admission.credited(o.accountId, r.refund);
  log.info("settled a background object", { kind: o.kind, id: o.upstreamId, status, prepaid: o.prepaid, refund: r.refund });
  return r;
}
