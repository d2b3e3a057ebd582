import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { describeAccount } from "../billing/account-view";
import { addMember, createOrg, deleteOrg, listMembers, orgKeyCount, removeMember, updateMember, updateOrg } from "../accounts/orgs";
import { listAccounts, orgByName } from "../accounts/store";
import { getUserByName } from "../users/service";
import type { AccountRow } from "../../db/schema";
import { ADMIN_ACTOR } from "./actor";

/** An org as admins see it: settings, live balance and limits, members and how many keys. */
export function adminOrgView(ctx: AppContext, org: AccountRow) {
  return {
    id: org.id, name: org.name, suspended: org.suspended, models: org.models, keyReveal: org.keyReveal, credits: org.credits,
    createdAt: new Date(org.createdAt).toISOString(), ...describeAccount(ctx, org),
    members: listMembers(ctx, org.id).map((m) => ({ userId: m.userId, name: m.name, role: m.role, monthlySpend: m.monthlySpend, concurrency: m.concurrency, rpm: m.rpm, tpm: m.tpm })),
    keys: orgKeyCount(ctx, org.id),
  };
}

const userOf = (ctx: AppContext, name: string) => getUserByName(ctx, decodeURIComponent(name));

/** Organizations over the admin socket: the admin acts with every power (owners included). */
export const adminOrgRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-orgs" })
    .get("/orgs", () => ({ data: listAccounts(ctx, "org").map((o) => adminOrgView(ctx, o)) }))
    .post("/orgs", ({ body }) => {
      const { owner, ...fields } = (body ?? {}) as Record<string, unknown>;
      if (owner !== undefined && typeof owner !== "string") throw new ApiError("invalid_request", "owner: a user name", "owner");
      return adminOrgView(ctx, createOrg(ctx, fields as never, ADMIN_ACTOR, owner ? getUserByName(ctx, owner) : undefined));
    })
    .get("/orgs/:name", ({ params }) => adminOrgView(ctx, orgByName(ctx, params.name)))
    .patch("/orgs/:name", ({ params, body }) => adminOrgView(ctx, updateOrg(ctx, orgByName(ctx, params.name), body as never, ADMIN_ACTOR)))
    .delete("/orgs/:name", ({ params }) => {
      const org = orgByName(ctx, params.name);
      deleteOrg(ctx, org, ADMIN_ACTOR);
      return { name: org.name, deleted: true };
    })
    .post("/orgs/:name/members", ({ params, body }) => {
      const org = orgByName(ctx, params.name);
      addMember(ctx, org, body as never, ADMIN_ACTOR, null);
      return adminOrgView(ctx, org);
    })
    .patch("/orgs/:name/members/:user", ({ params, body }) => {
      const org = orgByName(ctx, params.name);
      updateMember(ctx, org, userOf(ctx, params.user).id, body as never, ADMIN_ACTOR, null);
      return adminOrgView(ctx, org);
    })
    .delete("/orgs/:name/members/:user", ({ params }) => {
      const org = orgByName(ctx, params.name);
      removeMember(ctx, org, userOf(ctx, params.user).id, ADMIN_ACTOR, null);
      return adminOrgView(ctx, org);
    });
