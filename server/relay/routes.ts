import { Elysia } from "elysia";
import type { Server } from "bun";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { suggest } from "../http/suggest";
import { relay } from "./handler";
import { isPassThrough, NAMED_ROUTES, PASS_THROUGH_FAMILIES } from "./families";
import { preloadTokenizer } from "./tokens";

/** Which methods the app's own named routes answer for a path (empty: no such route). */
export type KnownMethods = (path: string) => string[];

/**
 * relay's own answer for a /v1 path outside every family, never sent upstream: a 405 naming the methods
 * when the path is a route of relay's with other methods, else a 404 that says what exists.
 */
function unknownRoute(method: string, path: string, known: KnownMethods): ApiError {
  const allowed = known(path);
  if (allowed.length) {
    return new ApiError("method_not_allowed", `${path.slice(0, 200)} does not take ${method}; it answers ${allowed.join(", ")}.`, null, { allow: allowed.join(", ") });
  }
  const rest = path.slice(4);
  const near = suggest(rest, [...NAMED_ROUTES, ...PASS_THROUGH_FAMILIES]);
  const hint = near ? ` Did you mean /v1/${near}?` : "";
  return new ApiError("not_found", `Unknown route ${method} ${path.slice(0, 200)}.${hint} relay serves the OpenAI API: see GET /v1/openapi.json.`);
}

/**
 * The relayed OpenAI endpoints. Bodies are left unparsed (`parse: "none"`): the relay reads them once,
 * under its own size limit, and forwards them. Other /v1 paths pass through the same way when they belong
 * to an OpenAI API family (families.ts), before authentication or anything else: any other path is a 404.
 * Elysia matches static routes (/v1/me, /v1/models, …) before this wildcard.
 */
export const relayRoutes = (ctx: AppContext, known: KnownMethods = () => []) => {
  const app = new Elysia({ name: "relay" })
    // Off the start-up path (the server answers first), and usually before the first relayed request.
    .onStart(() => void setTimeout(preloadTokenizer, 1000).unref());
  // The API under /v1, and under every RELAY_API_PREFIXES prefix too (e.g. /v1/inference/chat/completions),
  // for clients whose base URL has one; the relay sees the /v1 path either way.
  for (const base of ["/v1", ...ctx.config.RELAY_API_PREFIXES]) {
    const handle = ({ request, server }: { request: Request; server: Server<unknown> | null }) => relay(ctx, request, server, base);
    app
      .post(`${base}/chat/completions`, handle, { parse: "none" })
      .post(`${base}/completions`, handle, { parse: "none" })
      .post(`${base}/embeddings`, handle, { parse: "none" })
      // Anthropic's Messages API, whatever the query string (Claude Code sends ?beta=true).
      .post(`${base}/messages`, handle, { parse: "none" })
      .post(`${base}/messages/count_tokens`, handle, { parse: "none" })
      .all(`${base}/*`, ({ request, server, path }) => {
        const canonical = `/v1${path.slice(base.length)}`;
        if (!isPassThrough(canonical)) throw unknownRoute(request.method, canonical, known);
        return relay(ctx, request, server, base);
      }, { parse: "none" });
  }
  return app;
};
