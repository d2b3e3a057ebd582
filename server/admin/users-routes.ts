import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { createUser, getUserByName, listUsers, personalAccount, publicUser, updateUser } from "../users/service";
import { describeAccount } from "../billing/account-view";
import { ADMIN_ACTOR } from "./actor";

const withAccount = (ctx: AppContext, u: Parameters<typeof publicUser>[0]) => {
  const a = personalAccount(ctx, u);
  return { ...publicUser(u, a), ...describeAccount(ctx, a) };
};

export const adminUserRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-users" })
    .get("/users", () => ({ data: listUsers(ctx).map((u) => withAccount(ctx, u)) }))
    .get("/users/:name", ({ params }) => withAccount(ctx, getUserByName(ctx, params.name)))
    .post("/users", ({ body }) => withAccount(ctx, createUser(ctx, body as never, ADMIN_ACTOR)))
    .patch("/users/:name", async ({ params, body }) => withAccount(ctx, await updateUser(ctx, params.name, body as never, ADMIN_ACTOR)));
