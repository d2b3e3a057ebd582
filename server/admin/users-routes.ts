import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { createUser, getUserByName, listUsers, personalAccount, publicUser, updateUser } from "../users/service";
import { describeAccount } from "../billing/account-view";
import { ADMIN_ACTOR } from "./actor";

const withAccount = async (ctx: AppContext, u: Parameters<typeof publicUser>[0]) => {
  const a = await personalAccount(ctx, u);
  return { ...publicUser(u, a), ...(await describeAccount(ctx, a)) };
};

export const adminUserRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-users" })
    .get("/users", async () => ({ data: await Promise.all((await listUsers(ctx)).map((u) => withAccount(ctx, u))) }))
    .get("/users/:name", async ({ params }) => await withAccount(ctx, await getUserByName(ctx, params.name)))
    .post("/users", async ({ body }) => await withAccount(ctx, await createUser(ctx, body as never, ADMIN_ACTOR)))
    .patch("/users/:name", async ({ params, body }) => await withAccount(ctx, await updateUser(ctx, params.name, body as never, ADMIN_ACTOR)));
