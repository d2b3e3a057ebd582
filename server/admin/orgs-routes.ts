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
export async function adminOrgView(ctx: AppContext, org: AccountRow) {
  return {
    id: org.id, name: org.name, suspended: org.suspended, models: org.models, keyReveal: org.keyReveal, credits: org.credits,
    createdAt: new Date(org.createdAt).toISOString(), ...(await describeAccount(ctx, org)),
    members: (await listMembers(ctx, org.id)).map((m) => ({ userId: m.userId, name: m.name, role: m.role, monthlySpend: m.monthlySpend, concurrency: m.concurrency, rpm: m.rpm, tpm: m.tpm })),
    keys: await orgKeyCount(ctx, org.id),
  };
}

const userOf = async (ctx: AppContext, name: string) => await getUserByName(ctx, decodeURIComponent(name));

/** Organizations over the admin socket: the admin acts with every power (owners included). */
export const adminOrgRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-orgs" })
    .get("/orgs", async () => ({ data: await Promise.all((await listAccounts(ctx, "org")).map((o) => adminOrgView(ctx, o))) }))
    .post("/orgs", async ({ body }) => {
      const { owner, ...fields } = (body ?? {}) as Record<string, unknown>;
      if (owner !== undefined && typeof owner !== "string") throw new ApiError("invalid_request", "owner: a user name", "owner");
      return await adminOrgView(ctx, await createOrg(ctx, fields as never, ADMIN_ACTOR, owner ? await getUserByName(ctx, owner) : undefined));
    })
    .get("/orgs/:name", async ({ params }) => await adminOrgView(ctx, await orgByName(ctx, params.name)))
    .patch("/orgs/:name", async ({ params, body }) => await adminOrgView(ctx, await updateOrg(ctx, await orgByName(ctx, params.name), body as never, ADMIN_ACTOR)))
    .delete("/orgs/:name", async ({ params }) => {
      const org = await orgByName(ctx, params.name);
      await deleteOrg(ctx, org, ADMIN_ACTOR);
      return { name: org.name, deleted: true };
    })
    .post("/orgs/:name/members", async ({ params, body }) => {
      const org = await orgByName(ctx, params.name);
      await addMember(ctx, org, body as never, ADMIN_ACTOR, null);
      return await adminOrgView(ctx, org);
    })
    .patch("/orgs/:name/members/:user", async ({ params, body }) => {
      const org = await orgByName(ctx, params.name);
      await updateMember(ctx, org, (await userOf(ctx, params.user)).id, body as never, ADMIN_ACTOR, null);
      return await adminOrgView(ctx, org);
    })
    .delete("/orgs/:name/members/:user", async ({ params }) => {
      const org = await orgByName(ctx, params.name);
      await removeMember(ctx, org, (await userOf(ctx, params.user)).id, ADMIN_ACTOR, null);
      return await adminOrgView(ctx, org);
    });
