import type { AppContext } from "../context";
import { settle, type Hold } from "../limits/admission";
import { costOf } from "../billing/prices";
import { log } from "../log";
import type { RequestRecord } from "./settlement";

export type { RequestRecord } from "./settlement";

/**
 * Closes a request's accounting exactly once: settles its hold in memory (so the next admission sees the
 * new balance at once), then queues the settlement: the usage row and, in the same transaction, the ledger
 * charge, the balance, the key's spend and the month's tokens (see settlement.ts and settlement-writer.ts).
 * The usage row's unique request id makes the write idempotent.
 */
export function recordRequest(ctx: AppContext, hold: Hold | null, r: RequestRecord, prepay = false): number {
  const usage = { input: r.promptTokens - r.cachedTokens - r.cacheWriteTokens, cacheRead: r.cachedTokens, cacheWrite: r.cacheWriteTokens, output: r.completionTokens };
  // Only the first settlement of a hold is journaled: a repeated call settles nothing, and its zero-cost line
  // must not supersede the real one at a replay.
  const first = hold !== null && !hold.released;
  // A per-request price is due only for an answer the client got (2xx): not a refusal, failure or cut.
  const { cost, tokens, shortfall } = hold ? ctx.admission.settle(hold, usage, r.status < 300 && r.errorCode === null, prepay) : { cost: 0, tokens: 0, shortfall: 0 };
  const at = Date.now();
  ctx.metrics.observeRequest(r, cost, shortfall);
  if (shortfall > 0) log.warn("usage past the hold not charged in full", { id: r.requestId, model: r.model, channel: r.channelId, cost, shortfall });
  // The access log is off at the default level: one line per request costs measurable throughput.
  if (log.enabled("debug")) {
    log.debug("request", { id: r.requestId, key: r.keyPrefix, ip: r.sourceIp, path: r.endpoint, model: r.model, channel: r.channelId, status: r.status, error: r.errorCode, tokens: r.promptTokens + r.completionTokens, cost, ms: r.totalMs });
  }
  const settlement = { record: r, cost, tokens, shortfall, at };
  ctx.writer.enqueue(settlement);
  if (first) ctx.journal.settled(hold.journal, settlement);
  return cost;
}

/**
 * Journals a stream's answer as the client is about to have it whole (just before its last event goes
 * out), priced as settlement would, within its hold: if the process dies before the upstream's end and the
 * settlement, the next start charges this. Nothing in memory changes; the settlement supersedes it.
 */
export function journalAnswer(ctx: AppContext, hold: Hold, r: RequestRecord): void {
  if (!hold.journal || hold.released) return;
  const usage = { input: r.promptTokens - r.cachedTokens - r.cacheWriteTokens, cacheRead: r.cachedTokens, cacheWrite: r.cacheWriteTokens, output: r.completionTokens };
  const actual = costOf(hold.price, usage, true);
  const cost = Math.min(actual, hold.credits);
  const tokens = r.promptTokens + r.completionTokens;
  ctx.journal.answered(hold.journal, { record: r, cost, tokens, shortfall: actual - cost, at: Date.now() });
}
