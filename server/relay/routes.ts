import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { suggest } from "../http/suggest";
import { relay } from "./handler";
import { isPassThrough, NAMED_ROUTES, PASS_THROUGH_FAMILIES } from "./families";
import { preloadTokenizer } from "./tokens";

/** relay's own 404 for a /v1 path outside every family: never sent upstream, and says what exists. */
function unknownRoute(method: string, path: string): ApiError {
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
export const relayRoutes = (ctx: AppContext) =>
  new Elysia({ name: "relay" })
    // Off the start-up path (the server answers first), and usually before the first relayed request.
    .onStart(() => void setTimeout(preloadTokenizer, 1000).unref())
    .post("/v1/chat/completions", ({ request, server }) => relay(ctx, request, server), { parse: "none" })
    .post("/v1/completions", ({ request, server }) => relay(ctx, request, server), { parse: "none" })
    .post("/v1/embeddings", ({ request, server }) => relay(ctx, request, server), { parse: "none" })
    // Anthropic's Messages API, whatever the query string (Claude Code sends ?beta=true).
    .post("/v1/messages", ({ request, server }) => relay(ctx, request, server), { parse: "none" })
    .post("/v1/messages/count_tokens", ({ request, server }) => relay(ctx, request, server), { parse: "none" })
    .all("/v1/*", ({ request, server, path }) => {
      if (!isPassThrough(path)) throw unknownRoute(request.method, path);
      return relay(ctx, request, server);
    }, { parse: "none" });
