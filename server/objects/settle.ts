import type { AppContext } from "../context";
import type { ObjectRow } from "../../db/schema";
import { costOf } from "../billing/prices";
import { usageFromOpenAI } from "../translate/usage";
import { log } from "../log";
import { kindOf, RUNNING_STATUSES } from "./kinds";
import { batchUsed, recordBatchFiles } from "./batch-usage";

/** A background response's terminal statuses (OpenAI's); anything else is still running. */
export const TERMINAL = new Set(kindOf("response")!.terminal);

/** What an ended object used: credits (capped later at what it prepaid) and tokens (the month's quota). */
export type Used = { credits: number; tokens: number };

/**
 * Whether relay follows the object to its end: work that prepaid, or that was running upstream when last
 * seen (a background response, a batch). A stored response answered at once ended with its request.
 */
export function followed(o: ObjectRow): boolean {
  return o.prepaid > 0 || (RUNNING_STATUSES as readonly string[]).includes(o.status ?? "");
}

/** A response's final usage, at its model's price; one that failed without tokens costs nothing. */
function responseUsed(ctx: AppContext, o: ObjectRow, seen: Record<string, unknown>, status: string): Used {
  const u = usageFromOpenAI(seen.usage);
  if (!u) return { credits: 0, tokens: 0 };
  return { credits: costOf(ctx.prices.get(o.model ?? ""), u, status === "completed"), tokens: u.input + u.cacheRead + u.cacheWrite + u.output };
}

/**
 * What an ended object of each kind used, or null when that cannot be known yet (a batch's output file
 * unreadable for now): settled on a later look. A kind that is billed on completion is one entry here.
 */
const USED: Record<string, (ctx: AppContext, o: ObjectRow, seen: Record<string, unknown>, status: string) => Used | null | Promise<Used | null>> = {
  response: responseUsed,
  batch: batchUsed,
};

/**
 * Settles an object whose upstream copy has ended: its final usage priced (a response at its model's
 * price, a batch from its output file at the batch price it was held at), capped at what it prepaid, and
 * the rest refunded, in one transaction that only the first to see the end wins (the poller, or a client's
 * own GET). An object that prepaid nothing is marked ended the same way (so it is followed no longer).
 * Says whether this call settled it, and what it refunded.
 */
export async function settleIfEnded(ctx: AppContext, o: ObjectRow, seen: Record<string, unknown>): Promise<{ settled: boolean; refund: number }> {
  const status = typeof seen.status === "string" ? seen.status : null;
  const k = kindOf(o.kind);
  if (!k || o.settledAt !== null || status === null || !k.terminal.includes(status) || !followed(o)) return { settled: false, refund: 0 };
  if (o.kind === "batch") await recordBatchFiles(ctx, o, seen);
  const used = await USED[o.kind]?.(ctx, o, seen, status);
  if (!used) return { settled: false, refund: 0 };
  const r = await ctx.stores.objects.settle(o.id, {
    status, used: used.credits, tokens: used.tokens, ref: `refund:${o.kind}:${o.upstreamId}`,
    note: `${o.kind} ${o.upstreamId} ${status}: used ${used.credits} of ${o.prepaid} prepaid`,
  });
  // Its prepaying request is not committed yet (the writer's next batch, or a journal replay): next time.
  if (r === "pending" || !r.settled) return { settled: false, refund: 0 };
  ctx.admission.settledLater({ accountId: o.accountId, keyId: r.keyId, memberUserId: r.memberUserId, refund: r.refund, tokens: used.tokens });
  log.info("settled a background object", { kind: o.kind, id: o.upstreamId, status, prepaid: o.prepaid, refund: r.refund });
  return { settled: true, refund: r.refund };
}
