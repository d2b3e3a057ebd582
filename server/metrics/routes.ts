import { Elysia } from "elysia";
import type { AppContext } from "../context";

/** GET /metrics in Prometheus text format (always on the admin socket; on HTTP only with RELAY_METRICS_PUBLIC). */
export const metricsRoutes = (ctx: AppContext) =>
  new Elysia({ name: "metrics" }).get("/metrics", async () =>
    new Response(await ctx.metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } }));
