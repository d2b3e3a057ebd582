import { Elysia } from "elysia";
import { z } from "zod";
import type { AppContext } from "../context";
import { createKey, deleteAllKeys, deleteKey, getKey, listKeys, publicKey, revealKey, updateKey, type KeyOwner } from "../keys/service";
import { overlapOf, rotateBody, rotateKey, rotationView } from "../keys/rotate";
import { getUserByName } from "../users/service";
import { orgByName } from "../accounts/store";
import { membershipOf } from "../accounts/orgs";
import { ApiError } from "../errors";
import { ADMIN_ACTOR } from "./actor";
import { ROLE_SCOPES } from "../accounts/roles";
import { expandScopes } from "../auth/scopes";

const keyId = (raw: string) => {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new ApiError("not_found", `no key with id ${raw}`, "id");
  return id;
};
const createBody = z.looseObject({
  user: z.string().optional(), org: z.string().optional(), service: z.boolean().optional(), member: z.string().optional(),
});
const importBody = z.looseObject({ key: z.string().min(8).max(512).optional(), sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex characters").optional() });

/**
 * Whose key the admin socket makes: a user's personal key (`user`), or an org's service key (`org` +
 * `service`) or member key (`org` + `member`, who must be a member; the key is bounded by their role).
 */
async function ownerOf(ctx: AppContext, b: z.infer<typeof createBody>): Promise<KeyOwner> {
  if (b.user !== undefined && b.org === undefined) return { accountId: (await getUserByName(ctx, b.user)).accountId, kind: "personal", userId: (await getUserByName(ctx, b.user)).id };
  if (b.org === undefined) throw new ApiError("invalid_request", "Say whose key it is: user, or org with service or member.", "user");
  const org = await orgByName(ctx, b.org);
  if (b.service && b.member === undefined) return { accountId: org.id, kind: "service", userId: null };
  if (b.member !== undefined && !b.service) {
    const user = await getUserByName(ctx, b.member);
    if (!await membershipOf(ctx, org.id, user.id)) throw new ApiError("invalid_request", `${user.name} is not a member of ${org.name}; add them first (org member add)`, "member");
    return { accountId: org.id, kind: "member", userId: user.id };
  }
  throw new ApiError("invalid_request", "An org key is either a service key (service: true) or a member key (member: USER).", "service");
}

export const adminKeyRoutes = (ctx: AppContext) =>
  new Elysia({ name: "admin-keys" })
    .get("/keys", async ({ query }) => {
      const userId = query.user ? (await getUserByName(ctx, String(query.user))).id : undefined;
      const accountId = query.org ? (await orgByName(ctx, String(query.org))).id : undefined;
      return { data: (await listKeys(ctx, accountId, userId)).map((k) => publicKey(ctx, k)) };
    })
    .get("/keys/:id", async ({ params }) => publicKey(ctx, await getKey(ctx, keyId(params.id))))
    .post("/keys", async ({ body }) => {
      const { user, org, service, member, ...fields } = createBody.parse(body);
      const owner = await ownerOf(ctx, { user, org, service, member });
      const { row, key } = await createKey(ctx, owner, await boundedByRole(ctx, owner, fields), ADMIN_ACTOR);
      return { ...publicKey(ctx, row), key };
    })
    // Keys brought over from another gateway, so its clients need no change: the plaintext, or only its SHA-256.
    .post("/keys/import", async ({ body }) => {
      const { user, org, service, member, ...rest } = createBody.parse(body);
      const { key, sha256, ...fields } = importBody.parse(rest);
      if ((key === undefined) === (sha256 === undefined)) throw new ApiError("invalid_request", "Give exactly one of key (the plaintext) or sha256 (its hex digest).", "key");
      const owner = await ownerOf(ctx, { user, org, service, member });
      const { row } = await createKey(ctx, owner, await boundedByRole(ctx, owner, fields), ADMIN_ACTOR, key !== undefined ? { key } : { sha256 });
      return publicKey(ctx, row);
    })
    .patch("/keys/:id", async ({ params, body }) => publicKey(ctx, await updateKey(ctx, keyId(params.id), body as never, ADMIN_ACTOR)))
    .post("/keys/:id/rotate", async ({ params, body }) => {
      const old = await getKey(ctx, keyId(params.id));
      return rotationView(await rotateKey(ctx, old, overlapOf(rotateBody.parse(body ?? {}).overlap), ADMIN_ACTOR), (k) => publicKey(ctx, k));
    })
    .post("/keys/:id/reveal", async ({ params }) => ({ id: keyId(params.id), key: await revealKey(ctx, keyId(params.id), ADMIN_ACTOR) }))
    .delete("/users/:name/keys", async ({ params }) => {
      const user = await getUserByName(ctx, params.name);
      const ids = await deleteAllKeys(ctx, user.accountId, ADMIN_ACTOR);
      return { user: user.name, deleted: ids.length, ids };
    })
    .delete("/keys/:id", async ({ params }) => {
      await deleteKey(ctx, keyId(params.id), ADMIN_ACTOR);
      return { id: keyId(params.id), deleted: true };
    });

/** A member key can never be granted more than its member's role holds: without scopes, the role's. */
async function boundedByRole(ctx: AppContext, owner: KeyOwner, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (owner.kind !== "member" || owner.userId === null) return fields;
  const role = (await membershipOf(ctx, owner.accountId, owner.userId))!.role;
  const allowed = ROLE_SCOPES[role];
  const asked = fields.scopes === undefined ? null : expandScopes(ctx.scopes.canonical(fields.scopes as string[]));
  if (asked) {
    for (const s of asked) if (!allowed.has(s)) throw new ApiError("insufficient_scope", `A ${role}'s key cannot hold the '${s}' scope.`, "scopes");
    return fields;
  }
  return { ...fields, scopes: [...allowed] };
}
