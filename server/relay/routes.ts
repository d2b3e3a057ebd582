import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { relay } from "./handler";
import { preloadTokenizer } from "./tokens";

/**
 * The relayed OpenAI endpoints. Bodies are left unparsed (`parse: "none"`): the relay reads them once,
 * under its own size limit, and forwards them. Every other /v1 path passes through the same way;
 * Elysia matches static routes (/v1/me, /v1/models, …) before this wildcard.
 */
export const relayRoutes = (ctx: AppContext) =>
  new Elysia({ name: "relay" })
    // Off the start-up path (the server answers first), and usually before the first relayed request.
    .onStart(() => void setTimeout(preloadTokenizer, 1000).unref())
    .post("/v1/chat/completions", ({ request, server }) => relay(ctx, request, server), { parse: "none" })
    .post("/v1/completions", ({ request, server }) => relay(ctx, request, server), { parse: "none" })
    .post("/v1/embeddings", ({ request, server }) => relay(ctx, request, server), { parse: "none" })
    .all("/v1/*", ({ request, server }) => relay(ctx, request, server), { parse: "none" });
