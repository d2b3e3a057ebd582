import type { AppContext } from "../context";
import type { ObjectRow } from "../../db/schema";
import { costOf } from "../billing/prices";
import { usageFromOpenAI } from "../translate/usage";
import { log } from "../log";
import { kindOf, RUNNING_STATUSES } from "./kinds";
import { batchUsed, recordBatchFiles } from "./batch-usage";
import { emitEvent, type WebhookEventType } from "../webhooks/emit";
import { WEBHOOK_EVENT_TYPES } from "../webhooks/events";

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
  // Announced before it is settled: queueing is idempotent per object and event, so a kill between the
  // two announces it once when it is seen again, and an announcement is never lost to a settled object.
  const event = `${o.kind}.${status}`;
  if ((WEBHOOK_EVENT_TYPES as readonly string[]).includes(event)) {
    try {
      await emitEvent(ctx, o.accountId, event as WebhookEventType, o.upstreamId);
    } catch (err) {
      // Not settled either, so the next look queues the event and settles it then.
      log.warn("queueing a webhook event failed; the object is settled when it is seen again", { error: String(err) });
      return { settled: false, refund: 0 };
    }
  }
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
