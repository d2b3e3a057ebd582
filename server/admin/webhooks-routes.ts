import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { getUserByName } from "../users/service";
import { orgByName } from "../accounts/store";
import { ADMIN_ACTOR } from "./actor";
import { publicDelivery, publicWebhook } from "../webhooks/model";
import { createWebhook, deleteWebhook, getWebhook, listWebhooks, rotateWebhook, webhookIdParam } from "../webhooks/service";

const ownerFields = z.looseObject({ user: z.string().optional(), org: z.string().optional() });

/** The account named by `user` or `org` (exactly one), or undefined when neither is given and `optional`. */
async function accountOf(ctx: AppContext, o: { user?: string; org?: string }, optional: boolean): Promise<number | undefined> {
  if (o.user !== undefined && o.org !== undefined) throw new ApiError("invalid_request", "Give either user or org, not both.", "user");
  if (o.user !== undefined) return (await getUserByName(ctx, o.user)).accountId;
  if (o.org !== undefined) return (await orgByName(ctx, o.org)).id;
  if (optional) return undefined;
  throw new ApiError("invalid_request", "Say whose webhook it is: user NAME or org NAME.", "user");
}

/** Every account's webhook endpoints and the delivery log, over the admin socket (audited as admin:socket). */
export const adminWebhookRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-webhooks" })
    .get("/webhooks", async ({ query }) => {
      const accountId = await accountOf(ctx, ownerFields.parse(query), true);
      return { data: (await listWebhooks(ctx, accountId)).map((w) => ({ ...publicWebhook(w), account_id: w.accountId })) };
    })
    .post("/webhooks", async ({ body }) => {
      const { user, org, ...fields } = ownerFields.parse(body ?? {});
      const accountId = (await accountOf(ctx, { user, org }, false))!;
      return { ...(await createWebhook(ctx, accountId, fields, ADMIN_ACTOR)), account_id: accountId };
    })
    .get("/webhooks/deliveries", async ({ query }) => {
      const webhookId = query.webhook === undefined ? undefined : webhookIdParam(String(query.webhook));
      if (webhookId !== undefined) await getWebhook(ctx, webhookId);
      const limit = Math.min(1000, Math.max(1, Number(query.limit) || 50));
      return { data: (await ctx.stores.deliveries.list({ webhookId, limit })).map(publicDelivery) };
    })
    .get("/webhooks/deliveries/:id/attempts", async ({ params }) => {
      const id = webhookIdParam(params.id);
      return { data: (await ctx.stores.deliveries.attempts(id)).map((a) => ({ at: new Date(a.at).toISOString(), status: a.status, error: a.error, duration_ms: a.durationMs })) };
    })
    .post("/webhooks/:id/rotate", async ({ params }) => rotateWebhook(ctx, webhookIdParam(params.id), ADMIN_ACTOR))
    .delete("/webhooks/:id", async ({ params }) => {
      const id = webhookIdParam(params.id);
      await deleteWebhook(ctx, id, ADMIN_ACTOR);
      return { id, deleted: true };
    });
