import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { authenticateRequest } from "../http/caller";
import { strictObject } from "../http/strict-object";
import { describeAccount } from "../billing/account-view";
import { listLedger } from "../billing/ledger";
import { expandScopes } from "../auth/scopes";
import { keyFields } from "../keys/model";
import { createKey, deleteKey, getKey, listKeys, publicKey } from "../keys/service";
import { overlapOf, rotateBody, rotateKey, rotationView } from "../keys/rotate";
import { addMember, createOrg, deleteOrg, listMembers, orgsOfUser, removeMember, updateMember, updateOrg } from "../accounts/orgs";
import { getAccount } from "../accounts/store";
import { orgName } from "../accounts/model";
import { accountUsage } from "../selfservice/usage-service";
import { actorOf, readJson, readOptionalJson, requireSession } from "../selfservice/request";
import { actingRole, orgAccess, requireOrgRole, requireOrgScope, type OrgAccess } from "./access";
import type { AccountRow, MembershipRow } from "../../db/schema";

const createOrgBody = strictObject({ name: orgName });
/**
 * What an owner may change: the org's name and whether its keys can be revealed. Limits, the model
 * allow-list, credits and suspension are the operator's (relay admin org update).
 */
const ownerSettingsBody = strictObject({ name: orgName.optional(), keyReveal: z.enum(["always", "never"]).nullable().optional() });
/** The org key API's body: `name` is the key's label; `service: true` makes a service key (owners and admins). */
const { label: _label, ...orgKeyFields } = keyFields;
const createOrgKeyBody = strictObject({ ...orgKeyFields, name: z.string().max(200).default(""), service: z.boolean().default(false) });

const orgView = async (ctx: AppContext, org: AccountRow, role: string | null) => ({
  object: "organization", id: org.id, name: org.name, role, suspended: org.suspended, models: org.models,
  ...(await describeAccount(ctx, org)),
});
const memberView = (m: MembershipRow & { name: string }) => ({
  userId: m.userId, name: m.name, role: m.role, monthlySpend: m.monthlySpend, concurrency: m.concurrency, rpm: m.rpm, tpm: m.tpm,
  createdAt: new Date(m.createdAt).toISOString(),
});
const userIdParam = (raw: string | undefined) => {
  if (!/^[1-9][0-9]{0,15}$/.test(raw ?? "")) throw new ApiError("not_found", "no such member", "userId");
  return Number(raw);
};
const keyIdParam = (raw: string | undefined) => {
  if (!/^[1-9][0-9]{0,15}$/.test(raw ?? "")) throw new ApiError("not_found", "no such key", "id");
  return Number(raw);
};

/**
 * The org API: organizations, their members and keys, usage and ledger. A session acts as its user, with
 * the user's role in the org; a personal key as its user, narrowed by its own scopes; an org's own key as
 * its member (member key) or as the org (service key). Every route checks both scope and role.
 */
export const orgRoutes = (ctx: AppContext) => {
  const access = async (request: Request, server: Parameters<typeof authenticateRequest>[2], orgId: string | undefined) => {
    const p = await authenticateRequest(ctx, request, server);
    return { p, a: await orgAccess(ctx, p, orgId) };
  };
  return new Elysia({ name: "orgs" })
    .post("/v1/orgs", async ({ request, server, set }) => {
      const p = await authenticateRequest(ctx, request, server);
      requireSession(p);
      const body = createOrgBody.parse(await readJson(ctx, request));
      const org = await createOrg(ctx, body, actorOf(p), p.user!);
      set.status = 201;
      return orgView(ctx, org, "owner");
    }, { parse: "none" })
    .get("/v1/orgs", async ({ request, server }) => {
      const p = await authenticateRequest(ctx, request, server);
      if (p.account.kind === "org") return { object: "list", data: [await orgView(ctx, p.account, p.membership?.role ?? (p.entry?.key.kind === "service" ? "service" : null))] };
      const mine = p.userId === null ? [] : await orgsOfUser(ctx, p.userId);
      return { object: "list", data: await Promise.all(mine.map(({ org, membership }) => orgView(ctx, org, membership.role))) };
    })
    .get("/v1/orgs/:orgId", async ({ request, server, params }) => {
      const { a } = await access(request, server, params.orgId);
      return orgView(ctx, a.org, a.role);
    })
    .patch("/v1/orgs/:orgId", async ({ request, server, params }) => {
      const { p, a } = await access(request, server, params.orgId);
      requireOrgRole(a, "billing-settings");
      const body = ownerSettingsBody.parse(await readJson(ctx, request));
      return orgView(ctx, await updateOrg(ctx, a.org, body, actorOf(p)), a.role);
    }, { parse: "none" })
    .delete("/v1/orgs/:orgId", async ({ request, server, params }) => {
      const { p, a } = await access(request, server, params.orgId);
      requireOrgRole(a, "delete-org");
      await deleteOrg(ctx, (await getAccount(ctx, a.org.id))!, actorOf(p));
      return { object: "organization", id: a.org.id, deleted: true };
    })
    .get("/v1/orgs/:orgId/members", async ({ request, server, params }) => {
      const { a } = await access(request, server, params.orgId);
      requireOrgScope(a, "members:read");
      return { object: "list", data: (await listMembers(ctx, a.org.id)).map(memberView) };
    })
    .post("/v1/orgs/:orgId/members", async ({ request, server, params, set }) => {
      const { p, a } = await access(request, server, params.orgId);
      writeMembers(a);
      const m = await addMember(ctx, a.org, (await readJson(ctx, request)) as never, actorOf(p), actingRole(a));
      set.status = 201;
      return memberView((await listMembers(ctx, a.org.id)).find((x) => x.userId === m.userId)!);
    }, { parse: "none" })
    .patch("/v1/orgs/:orgId/members/:userId", async ({ request, server, params }) => {
      const { p, a } = await access(request, server, params.orgId);
      writeMembers(a);
      const m = await updateMember(ctx, a.org, userIdParam(params.userId), (await readJson(ctx, request)) as never, actorOf(p), actingRole(a));
      return memberView((await listMembers(ctx, a.org.id)).find((x) => x.userId === m.userId)!);
    }, { parse: "none" })
    .delete("/v1/orgs/:orgId/members/:userId", async ({ request, server, params }) => {
      const { p, a } = await access(request, server, params.orgId);
      const userId = userIdParam(params.userId);
      // Anyone may leave (but the last owner); removing someone else needs members:write and the role rules.
      if (userId !== a.userId) writeMembers(a);
      await removeMember(ctx, a.org, userId, actorOf(p), userId === a.userId ? "owner" : actingRole(a));
      return { object: "member", userId, deleted: true };
    })
    .get("/v1/orgs/:orgId/api-keys", async ({ request, server, params }) => {
      const { a } = await access(request, server, params.orgId);
      requireOrgScope(a, "keys:read");
      const all = a.role === "service" || a.role === "owner" || a.role === "admin";
      return { object: "list", data: (await listKeys(ctx, a.org.id, all ? undefined : a.userId ?? -1)).map((k) => orgKeyView(ctx, k)) };
    })
    .post("/v1/orgs/:orgId/api-keys/create", async ({ request, server, params, set }) => {
      const { p, a } = await access(request, server, params.orgId);
      requireOrgScope(a, "keys:write");
      const raw = await readJson(ctx, request);
      const { name, service, scopes } = createOrgKeyBody.parse(raw); // strict: every field checked here
      const { name: _name, service: _service, ...fields } = raw;
      if (service) requireOrgRole(a, "service-keys");
      if (!service && a.userId === null) throw new ApiError("invalid_request", "A service key cannot make member keys; set service: true, or call with a member's session or key.", "service");
      // A key can never be granted more than its creator holds in the org.
      const asked = expandScopes(ctx.scopes.canonical(scopes));
      for (const s of asked) {
        if (!a.scopes.has(s)) throw new ApiError("insufficient_scope", `A key cannot be granted the '${s}' scope, which you do not hold in this organization.`, "scopes");
      }
      const { row, key } = await createKey(ctx, { accountId: a.org.id, kind: service ? "service" : "member", userId: service ? a.userId : a.userId }, { ...fields, label: name } as never, actorOf(p));
      set.status = 201;
      set.headers["cache-control"] = "no-store";
      return { ...orgKeyView(ctx, row), key };
    }, { parse: "none" })
    .delete("/v1/orgs/:orgId/api-keys/:id", async ({ request, server, params }) => {
      const { p, a } = await access(request, server, params.orgId);
      requireOrgScope(a, "keys:write");
      const key = await getKey(ctx, keyIdParam(params.id), a.org.id);
      // Members revoke their own member keys; owners, admins and service keys any of the org's.
      if (!(key.kind === "member" && key.userId === a.userId)) requireOrgRole(a, "all-keys");
      await deleteKey(ctx, key.id, actorOf(p), a.org.id);
      return { id: key.id, object: "key", deleted: true };
    })
    // Rotation is a revocation and a creation at once: the rules of both apply to the key and its successor.
    .post("/v1/orgs/:orgId/api-keys/:id/rotate", async ({ request, server, params, set }) => {
      const { p, a } = await access(request, server, params.orgId);
      requireOrgScope(a, "keys:write");
      const key = await getKey(ctx, keyIdParam(params.id), a.org.id);
      if (!(key.kind === "member" && key.userId === a.userId)) requireOrgRole(a, "all-keys");
      if (key.kind === "service") requireOrgRole(a, "service-keys");
      const overlap = overlapOf(rotateBody.parse(await readOptionalJson(ctx, request)).overlap);
      for (const s of expandScopes(key.scopes)) {
        if (!a.scopes.has(s)) throw new ApiError("insufficient_scope", `A key cannot be granted the '${s}' scope, which you do not hold in this organization.`, "scopes");
      }
      const r = await rotateKey(ctx, key, overlap, actorOf(p));
      set.status = 201;
      set.headers["cache-control"] = "no-store";
      return rotationView(r, (k) => orgKeyView(ctx, k));
    }, { parse: "none" })
    .get("/v1/orgs/:orgId/usage", async ({ request, server, params, query }) => {
      const { a } = await access(request, server, params.orgId);
      requireOrgScope(a, "usage:read");
      return accountUsage(ctx, a.org.id, query as never);
    })
    .get("/v1/orgs/:orgId/ledger", async ({ request, server, params, query }) => {
      const { a } = await access(request, server, params.orgId);
      requireOrgScope(a, "billing:read");
      await ctx.writer.flush();
      const limit = Math.min(1000, Math.max(1, Number(query.limit) || 100));
      const org = (await getAccount(ctx, a.org.id))!;
      return {
        object: "list", balance: (await describeAccount(ctx, org)).balance,
        data: (await listLedger(ctx, a.org.id, limit)).map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
      };
    });
};

function writeMembers(a: OrgAccess): void {
  requireOrgScope(a, "members:write");
  requireOrgRole(a, "manage-members");
}

/** A key as the org API shows it: the admin API's fields, with `name` and `keyPrefix` as its clients know them. */
function orgKeyView(ctx: AppContext, k: Parameters<typeof publicKey>[1]) {
  const v = publicKey(ctx, k);
  return { ...v, name: v.label, keyPrefix: v.prefix };
}
