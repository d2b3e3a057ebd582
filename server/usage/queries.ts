import type { UsageRow } from "../../db/schema";
import type { AppContext } from "../context";
import type { UsageFilter } from "../stores/types";

export type { UsageFilter } from "../stores/types";

/**
 * A usage row as admins see it: everything, the operator's error detail included, and the object it
 * prepaid (a background response, a batch: refunded under `refund:<kind>:<id>` when it ends).
 */
const adminView = (r: UsageRow, object: string | null = null) => ({ ...r, at: new Date(r.at).toISOString(), object });
export type UsageView = ReturnType<typeof adminView>;

/** Usage rows, newest first. Flushes pending writes first so callers see their own latest requests. */
export async function listUsage(ctx: AppContext, f: UsageFilter & { limit?: number }): Promise<UsageView[]> {
  await ctx.writer.flush();
  const limit = Math.min(Math.max(f.limit ?? 100, 1), 10_000);
  const rows = await ctx.stores.usage.list(f, limit);
  const prepaid = new Map((await ctx.stores.objects.prepaidBy(rows.filter((r) => r.endpoint === "/v1/batches" || r.endpoint === "/v1/responses").map((r) => r.requestId)))
    .map((o) => [o.requestId, `${o.kind}:${o.upstreamId}`]));
  return rows.map((r) => adminView(r, prepaid.get(r.requestId) ?? null));
}

/** Requests and tokens per hour for one key over the last `hours`, every hour present (zeros included). */
export async function keyTimeline(ctx: AppContext, keyId: number, hours: number) {
  await ctx.writer.flush();
  const hourMs = 3_600_000;
  const end = Math.floor(Date.now() / hourMs) * hourMs + hourMs;
  const start = end - hours * hourMs;
  const byHour = new Map((await ctx.stores.usage.hourly(keyId, start, end)).map((r) => [r.h, r]));
  const out: { hour: string; requests: number; tokens: number }[] = [];
  for (let t = start; t < end; t += hourMs) {
    const r = byHour.get(t / hourMs);
    out.push({ hour: new Date(t).toISOString(), requests: r?.requests ?? 0, tokens: r?.tokens ?? 0 });
  }
  return out;
}
