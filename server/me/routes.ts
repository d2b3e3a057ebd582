import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { authenticateRequest } from "../http/caller";
import { publicKey } from "../keys/service";
import { describeAccount } from "../billing/account-view";
import { orgsOfUser } from "../accounts/orgs";

/**
 * GET /v1/me: the caller's user, key (never its secret), effective scopes and the limits of the account that
 * pays. With an org key: the org and the key's kind; with a session: the caller's memberships too.
 */
export const meRoutes = (ctx: AppContext) =>
  new Elysia({ name: "me" }).get("/v1/me", async ({ request, server }) => {
    const p = await authenticateRequest(ctx, request, server);
    const u = p.user;
    const org = p.account.kind === "org" ? { id: p.account.id, name: p.account.name, role: p.membership?.role ?? null } : null;
    return {
      object: "me",
      auth: p.kind,
      user: u ? { id: u.id, name: u.name, role: u.role, enabled: u.enabled, createdAt: new Date(u.createdAt).toISOString() } : null,
      key: p.entry ? publicKey(ctx, p.entry.key) : null,
      keyKind: p.entry?.key.kind ?? null,
      org,
      accountId: p.accountId,
      scopes: ctx.scopes.shown([...p.scopes]),
      ip: p.ip,
      ...(await describeAccount(ctx, p.account)),
      ...(p.kind === "session" && u
        ? { memberships: (await orgsOfUser(ctx, u.id)).map(({ org: o, membership: m }) => ({ orgId: o.id, name: o.name, role: m.role })) }
        : {}),
    };
  });
