import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { requireScope } from "../auth/authenticate";
import { authenticateRequest } from "../http/caller";
import { createKeyInput, updateKeyInput } from "../keys/model";
import { createKey, deleteAllKeys, deleteKey, getKey, listKeys, publicKey, revealKey, updateKey } from "../keys/service";
import { overlapOf, rotateBody, rotateKey, rotationView } from "../keys/rotate";
import { actorOf, keyIdParam, personalOf, readJson, readOptionalJson, requireGrantable, requireSession } from "./request";

/**
 * The caller's own API keys. Every lookup is scoped to the caller's user, so another user's key id is a
 * 404 exactly like a missing one. Bodies use the admin API's strict schemas: unknown fields are a 400.
 */
export const selfServiceKeyRoutes = (ctx: AppContext) =>
  new Elysia({ name: "selfservice-keys" })
    .get("/v1/keys", async ({ request, server }) => {
      const p = await authenticateRequest(ctx, request, server);
      const own = personalOf(p);
      requireScope(p, "keys:read");
      return { object: "list", data: (await listKeys(ctx, own.accountId)).map((k) => publicKey(ctx, k)) };
    })
    .get("/v1/keys/:id", async ({ request, server, params }) => {
      const p = await authenticateRequest(ctx, request, server);
      requireScope(p, "keys:read");
      return publicKey(ctx, await getKey(ctx, keyIdParam(params.id), personalOf(p).accountId));
    })
    .post("/v1/keys", async ({ request, server, set }) => {
      const p = await authenticateRequest(ctx, request, server);
      requireScope(p, "keys:write");
      const body = await readJson(ctx, request);
      const own = personalOf(p);
      requireGrantable(ctx, p, createKeyInput.parse(body).scopes);
      const { row, key } = await createKey(ctx, { accountId: own.accountId, kind: "personal", userId: own.userId }, body as never, actorOf(p));
      set.status = 201;
      set.headers["cache-control"] = "no-store";
      return { ...publicKey(ctx, row), key };
    }, { parse: "none" })
    .patch("/v1/keys/:id", async ({ request, server, params }) => {
      const p = await authenticateRequest(ctx, request, server);
      requireScope(p, "keys:write");
      const id = keyIdParam(params.id);
      const body = await readJson(ctx, request);
      requireGrantable(ctx, p, updateKeyInput.parse(body).scopes);
      return publicKey(ctx, await updateKey(ctx, id, body as never, actorOf(p), personalOf(p).accountId));
    }, { parse: "none" })
    .delete("/v1/keys/:id", async ({ request, server, params }) => {
      const p = await authenticateRequest(ctx, request, server);
      requireScope(p, "keys:write");
      const id = keyIdParam(params.id);
      await deleteKey(ctx, id, actorOf(p), personalOf(p).accountId);
      return { id, object: "key", deleted: true };
    })
    // Static, so it wins over /v1/keys/:id/… Session only: a leaked key must not be able to wipe its siblings.
    .post("/v1/keys/revoke-all", async ({ request, server }) => {
      const p = await authenticateRequest(ctx, request, server);
      requireSession(p);
      const ids = await deleteAllKeys(ctx, personalOf(p).accountId, actorOf(p));
      return { object: "list", deleted: ids.length, data: ids.map((id) => ({ id, object: "key", deleted: true })) };
    }, { parse: "none" })
    // The successor copies the old key's scopes, so, as at creation, the caller must hold each of them.
    .post("/v1/keys/:id/rotate", async ({ request, server, params, set }) => {
      const p = await authenticateRequest(ctx, request, server);
      requireScope(p, "keys:write");
      const old = await getKey(ctx, keyIdParam(params.id), personalOf(p).accountId);
      const overlap = overlapOf(rotateBody.parse(await readOptionalJson(ctx, request)).overlap);
      requireGrantable(ctx, p, old.scopes);
      const r = await rotateKey(ctx, old, overlap, actorOf(p));
      set.status = 201;
      set.headers["cache-control"] = "no-store";
      return rotationView(r, (k) => publicKey(ctx, k));
    }, { parse: "none" })
    .post("/v1/keys/:id/reveal", async ({ request, server, params, set }) => {
      const p = await authenticateRequest(ctx, request, server);
      requireSession(p);
      const id = keyIdParam(params.id);
      set.headers["cache-control"] = "no-store";
      return { id, key: await revealKey(ctx, id, actorOf(p), personalOf(p).accountId) };
    }, { parse: "none" });
