import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { requireScope } from "../auth/authenticate";
import { authenticateRequest } from "../http/caller";
import { userUsage } from "./usage-service";

/** GET /v1/usage?from=&to=&key_id=&limit=: the caller's usage rows and per-day totals (scope `usage:read`). */
export const usageRoutes = (ctx: AppContext) =>
  new Elysia({ name: "selfservice-usage" }).get("/v1/usage", async ({ request, server, query }) => {
    const p = await authenticateRequest(ctx, request, server);
    requireScope(p, "usage:read");
    return userUsage(ctx, p.userId, query as never);
  });
