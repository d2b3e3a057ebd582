import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { requireScope } from "../auth/authenticate";
import { authenticateRequest } from "../http/caller";
import { accountUsage } from "./usage-service";
import { personalOf } from "./request";

/** GET /v1/usage?from=&to=&key_id=&limit=: the caller's usage rows and per-day totals (scope `usage:read`). */
export const usageRoutes = (ctx: AppContext) =>
  new Elysia({ name: "selfservice-usage" }).get("/v1/usage", async ({ request, server, query }) => {
    const p = await authenticateRequest(ctx, request, server);
    requireScope(p, "usage:read");
    return accountUsage(ctx, personalOf(p).accountId, query as never);
  });
