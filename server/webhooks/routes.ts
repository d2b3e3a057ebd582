import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { requireScope } from "../auth/authenticate";
import { authenticateRequest } from "../http/caller";
import { actorOf, personalOf, readJson } from "../selfservice/request";
import { orgAccess, requireOrgRole, requireOrgScope } from "../orgs/access";
import { publicWebhook } from "./model";
import { createWebhook, deleteWebhook, listWebhooks, rotateWebhook, webhookIdParam } from "./service";

/**
 * The caller's own webhook endpoints, and an org's under /v1/orgs/{orgId}/webhooks (owners and admins,
 * or a service key), with the same shapes. An endpoint is account configuration with a secret, so it
 * takes the key scopes: `keys:read` to list, `keys:write` to change. Secrets are in the answers of
 * create and rotate only, never stored in the clear and never listed.
 */
export const webhookRoutes = (ctx: AppContext) => {
  type Server = Parameters<typeof authenticateRequest>[2];
  /** The account the call acts on, with its actor, once the caller may do `write` (or read) there. */
  const own = async (request: Request, server: Server, write: boolean) => {
    const p = await authenticateRequest(ctx, request, server);
    requireScope(p, write ? "keys:write" : "keys:read");
    return { accountId: personalOf(p).accountId, actor: actorOf(p) };
  };
  const org = async (request: Request, server: Server, orgId: string | undefined, write: boolean) => {
    const p = await authenticateRequest(ctx, request, server);
    const a = await orgAccess(ctx, p, orgId);
    requireOrgScope(a, write ? "keys:write" : "keys:read");
    requireOrgRole(a, "webhooks");
    return { accountId: a.org.id, actor: actorOf(p) };
  };
  const noStore = (set: { headers: Record<string, unknown> }) => (set.headers["cache-control"] = "no-store");

  return new Elysia({ name: "webhooks" })
    .get("/v1/webhooks", async ({ request, server }) => {
      const { accountId } = await own(request, server, false);
      return { object: "list", data: (await listWebhooks(ctx, accountId)).map(publicWebhook) };
    })
    .post("/v1/webhooks", async ({ request, server, set }) => {
      const { accountId, actor } = await own(request, server, true);
      const created = await createWebhook(ctx, accountId, await readJson(ctx, request), actor);
      set.status = 201;
      noStore(set);
      return created;
    }, { parse: "none" })
    .delete("/v1/webhooks/:id", async ({ request, server, params }) => {
      const { accountId, actor } = await own(request, server, true);
      const id = webhookIdParam(params.id);
      await deleteWebhook(ctx, id, actor, accountId);
      return { id, object: "webhook", deleted: true };
    })
    .post("/v1/webhooks/:id/rotate", async ({ request, server, params, set }) => {
      const { accountId, actor } = await own(request, server, true);
      noStore(set);
      return rotateWebhook(ctx, webhookIdParam(params.id), actor, accountId);
    }, { parse: "none" })
    .get("/v1/orgs/:orgId/webhooks", async ({ request, server, params }) => {
      const { accountId } = await org(request, server, params.orgId, false);
      return { object: "list", data: (await listWebhooks(ctx, accountId)).map(publicWebhook) };
    })
    .post("/v1/orgs/:orgId/webhooks", async ({ request, server, params, set }) => {
      const { accountId, actor } = await org(request, server, params.orgId, true);
      const created = await createWebhook(ctx, accountId, await readJson(ctx, request), actor);
      set.status = 201;
      noStore(set);
      return created;
    }, { parse: "none" })
    .delete("/v1/orgs/:orgId/webhooks/:id", async ({ request, server, params }) => {
      const { accountId, actor } = await org(request, server, params.orgId, true);
      const id = webhookIdParam(params.id);
      await deleteWebhook(ctx, id, actor, accountId);
      return { id, object: "webhook", deleted: true };
    })
    .post("/v1/orgs/:orgId/webhooks/:id/rotate", async ({ request, server, params, set }) => {
      const { accountId, actor } = await org(request, server, params.orgId, true);
      noStore(set);
      return rotateWebhook(ctx, webhookIdParam(params.id), actor, accountId);
    }, { parse: "none" });
};
