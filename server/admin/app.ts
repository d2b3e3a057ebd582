import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { withErrors } from "../http/errors-plugin";
import { adminUserRoutes } from "./users-routes";
import { adminKeyRoutes } from "./keys-routes";
import { adminSystemRoutes } from "./system-routes";
import { adminChannelRoutes } from "./channels-routes";
import { adminBillingRoutes } from "./billing-routes";
import { adminUsageRoutes } from "./usage-routes";
import { adminOpenApiRoutes } from "./openapi";
import { adminOrgRoutes } from "./orgs-routes";
import { adminWebhookRoutes } from "./webhooks-routes";

/** The admin API, served only on the Unix socket (mode 0600). Its clients: `relay admin` and `relay tui`. */
export function createAdminApp(ctx: AppContext, info: () => Record<string, unknown>) {
  return new Elysia({ name: "admin" })
    .use(withErrors("admin"))
    .use(adminSystemRoutes(ctx, info))
    .use(adminUserRoutes(ctx))
    .use(adminOrgRoutes(ctx))
    .use(adminKeyRoutes(ctx))
    .use(adminChannelRoutes(ctx))
    .use(adminBillingRoutes(ctx))
    .use(adminUsageRoutes(ctx))
    .use(adminWebhookRoutes(ctx))
    .use(adminOpenApiRoutes());
}
