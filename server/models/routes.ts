import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { authenticateRequest } from "../http/caller";

/**
 * One model object that both kinds of client read: OpenAI's fields (`object`, `created`, `owned_by`) and
 * Anthropic's (`type`, `display_name`, `created_at`).
 */
const modelObject = (id: string, created: number) => ({
  id, object: "model", created: Math.floor(created / 1000), owned_by: "relay",
  type: "model", display_name: id, created_at: new Date(created).toISOString(),
});

/** The models a caller can see: without a key, every model some enabled channel serves; with one, only what it may use. */
async function visibleModels(ctx: AppContext, request: Request, server: Parameters<typeof authenticateRequest>[2]): Promise<Map<string, number>> {
  if (!request.headers.has("authorization") && !request.headers.has("x-api-key")) return ctx.channels.models();
  const p = await authenticateRequest(ctx, request, server);
  const all = ctx.channels.models(p.entry?.key.group ?? "either");
  const allowed = p.entry?.models;
  if (!allowed) return all;
  return new Map([...all].filter(([m]) => allowed.has(m)));
}

export const modelRoutes = (ctx: AppContext) => {
  const app = new Elysia({ name: "models" });
  for (const base of ["/v1", ...ctx.config.RELAY_API_PREFIXES]) {
    app
      .get(`${base}/models`, async ({ request, server }) => {
        const models = await visibleModels(ctx, request, server);
        const data = [...models].sort(([a], [b]) => a.localeCompare(b)).map(([id, at]) => modelObject(id, at));
        // The whole catalog in one page, with Anthropic's paging fields so its SDK's list() reads it too.
        return { object: "list", data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
      })
      .get(`${base}/models/*`, async ({ request, server, params }) => {
        const id = decodeURIComponent((params as { "*": string })["*"]);
        const created = (await visibleModels(ctx, request, server)).get(id);
        if (created === undefined) throw new ApiError("model_not_found", `The model '${id}' does not exist or you do not have access to it.`, "model");
        return modelObject(id, created);
      });
  }
  return app;
};
