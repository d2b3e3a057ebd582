import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { getUserByName } from "../users/service";
import { orgByName } from "../accounts/store";
import { getKey } from "../keys/service";
import { keyTimeline, listUsage } from "../usage/queries";

const num = (v: unknown) => (v === undefined || v === "" ? undefined : Number.isFinite(Number(v)) ? Number(v) : undefined);

export const adminUsageRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-usage" })
    .get("/usage", async ({ query }) => ({
      data: await listUsage(ctx, {
        userId: query.user ? (await getUserByName(ctx, String(query.user))).id : undefined,
        accountId: query.org ? (await orgByName(ctx, String(query.org))).id : undefined,
        keyId: num(query.key),
        before: num(query.before),
        limit: num(query.limit) ?? 100,
      }),
    }))
    .get("/keys/:id/timeline", async ({ params, query }) => {
      const key = await getKey(ctx, Number(params.id));
      return { data: await keyTimeline(ctx, key.id, Math.min(24 * 31, Math.max(1, num(query.hours) ?? 72))) };
    })
    .get("/metrics", async () => new Response(await ctx.metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } }));
