import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { createKey, deleteAllKeys, deleteKey, getKey, listKeys, publicKey, revealKey, updateKey } from "../keys/service";
import { getUserByName } from "../users/service";
import { ApiError } from "../errors";
import { ADMIN_ACTOR } from "./actor";

const keyId = (raw: string) => {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new ApiError("not_found", `no key with id ${raw}`, "id");
  return id;
};
const createBody = z.looseObject({ user: z.string() });

export const adminKeyRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-keys" })
    .get("/keys", ({ query }) => {
      const userId = query.user ? getUserByName(ctx, String(query.user)).id : undefined;
      return { data: listKeys(ctx, userId).map((k) => publicKey(ctx, k)) };
    })
    .get("/keys/:id", ({ params }) => publicKey(ctx, getKey(ctx, keyId(params.id))))
    .post("/keys", ({ body }) => {
      const { user, ...fields } = createBody.parse(body);
      const { row, key } = createKey(ctx, getUserByName(ctx, user).id, fields as never, ADMIN_ACTOR);
      return { ...publicKey(ctx, row), key };
    })
    .patch("/keys/:id", ({ params, body }) => publicKey(ctx, updateKey(ctx, keyId(params.id), body as never, ADMIN_ACTOR)))
    .post("/keys/:id/reveal", ({ params }) => ({ id: keyId(params.id), key: revealKey(ctx, keyId(params.id), ADMIN_ACTOR) }))
    .delete("/users/:name/keys", ({ params }) => {
      const user = getUserByName(ctx, params.name);
      const ids = deleteAllKeys(ctx, user.id, ADMIN_ACTOR);
      return { user: user.name, deleted: ids.length, ids };
    })
    .delete("/keys/:id", ({ params }) => {
      deleteKey(ctx, keyId(params.id), ADMIN_ACTOR);
      return { id: keyId(params.id), deleted: true };
    });
