import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { pathOf, withErrors } from "./errors-plugin";
import { meRoutes } from "../me/routes";
import { modelRoutes } from "../models/routes";
import { relayRoutes, type KnownMethods } from "../relay/routes";
import { metricsRoutes } from "../metrics/routes";
import { loginRoutes } from "../selfservice/login-routes";
import { selfServiceKeyRoutes } from "../selfservice/keys-routes";
import { usageRoutes } from "../selfservice/usage-routes";
import { orgRoutes } from "../orgs/routes";
import { webhookRoutes } from "../webhooks/routes";
import { openApiRoutes } from "../selfservice/openapi";
import { recordRefusal } from "../usage/refusals";

/**
 * The public HTTP API, composed in request-path order: request ids and the error envelope first,
 * then each feature. The relay's /v1/* wildcard comes last so every named route wins over it.
 */
export function createPublicApp(ctx: AppContext) {
  // The wildcard answers a named route's path with another method as a 405; it learns the named routes
  // once the app is built (they are registered before it, so they cannot be passed in).
  let known: KnownMethods = () => [];
  const app = new Elysia({ name: "public" })
    .use(withErrors("public", (request, err, requestId) => recordRefusal(ctx, request, err, requestId, pathOf(request.url)), ctx.config.RELAY_API_PREFIXES))
    .use(loginRoutes(ctx)) // also makes session JWTs valid Bearer tokens on every route
    .use(meRoutes(ctx))
    .use(selfServiceKeyRoutes(ctx))
    .use(usageRoutes(ctx))
    .use(orgRoutes(ctx))
    .use(webhookRoutes(ctx))
    .use(openApiRoutes())
    .use(modelRoutes(ctx))
    .use(ctx.config.RELAY_METRICS_PUBLIC ? metricsRoutes(ctx) : new Elysia({ name: "no-metrics" }))
    .use(relayRoutes(ctx, (path) => known(path)));
  known = methodsOf(app.routes);
  return app;
}

/** For each named (non-wildcard) route, the methods it answers, looked up by path with `:params` matched. */
function methodsOf(routes: readonly { method: string; path: string }[]): KnownMethods {
  const byPattern = new Map<string, { re: RegExp; methods: string[] }>();
  for (const r of routes) {
    if (r.path.includes("*") || r.method === "ALL") continue;
    const entry = byPattern.get(r.path) ?? { re: new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:\w+/g, "[^/]+")}$`), methods: [] };
    entry.methods.push(r.method);
    byPattern.set(r.path, entry);
  }
  const patterns = [...byPattern.values()];
  return (path) => patterns.find((p) => p.re.test(path))?.methods ?? [];
}
