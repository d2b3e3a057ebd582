import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { authenticateRequest } from "../http/caller";
import { publicKey } from "../keys/service";
import { describeAccount } from "../billing/account-view";

/** GET /v1/me: the caller's user, key (never its secret) and limits. */
export const meRoutes = (ctx: AppContext) =>
  new Elysia({ name: "me" }).get("/v1/me", async ({ request, server }) => {
    const p = await authenticateRequest(ctx, request, server);
    const u = p.user;
    return {
      object: "me",
      auth: p.kind,
      user: { id: u.id, name: u.name, role: u.role, enabled: u.enabled, createdAt: new Date(u.createdAt).toISOString() },
      key: p.entry ? publicKey(ctx, p.entry.key) : null,
      scopes: [...p.scopes],
      ip: p.ip,
      ...describeAccount(ctx, u.id),
    };
  });
