import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { withErrors } from "./errors-plugin";
import { meRoutes } from "../me/routes";

/**
 * The public HTTP API, composed in request-path order: errors and request ids first, then each feature.
 * Features added by later modules are passed in so this file stays the one place that shows the whole API.
 */
export function createPublicApp(ctx: AppContext, features: ((ctx: AppContext) => Elysia<any, any, any, any, any, any, any>)[] = []) {
  let app = new Elysia({ name: "public" }).use(withErrors("public")).use(meRoutes(ctx));
  for (const f of features) app = app.use(f(ctx));
  return app;
}
