import { and, asc, eq } from "drizzle-orm";
import { apiKeys, type ApiKeyRow } from "../../db/schema";
import { ApiError } from "../errors";
import { recordAudit, type Actor } from "../audit/audit";
import type { AppContext } from "../context";
import { generateApiKey, publicPrefix } from "./key-format";
import { createKeyInput, updateKeyInput, type CreateKeyInput, type UpdateKeyInput } from "./model";
import { authChanged } from "../auth/revocation";

/** The AAD that binds a key's ciphertext to its row. */
export const keyAad = (id: number, userId: number) => `api_key:${id}:${userId}`;

/** A key as shown to admins and owners: never the hash or the ciphertext. */
export function publicKey(ctx: AppContext, k: ApiKeyRow) {
  return {
    id: k.id,
    userId: k.userId,
    prefix: publicPrefix(ctx.config.RELAY_KEY_PREFIX, k.publicId),
    label: k.label,
    enabled: k.enabled,
    group: k.group,
    allowIps: k.allowIps,
    expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
    models: k.models,
    spendLimit: k.spendLimit,
    spent: k.spent,
    scopes: k.scopes,
    createdAt: new Date(k.createdAt).toISOString(),
    lastUsedAt: k.lastUsedAt === null ? null : new Date(k.lastUsedAt).toISOString(),
  };
}
export type PublicKey = ReturnType<typeof publicKey>;

/** Creates a key and returns its row and the plaintext, which the caller shows once. */
export function createKey(ctx: AppContext, userId: number, raw: CreateKeyInput, actor: Actor): { row: ApiKeyRow; key: string } {
  const input = createKeyInput.parse(raw);
  for (let attempt = 0; ; attempt++) {
    const g = generateApiKey(ctx.config.RELAY_KEY_PREFIX);
    try {
      const row = ctx.db.$client.transaction(() => {
        // The AAD needs the row id, so insert first and encrypt inside the same transaction.
        const inserted = ctx.db.insert(apiKeys).values({
          userId, publicId: g.publicId, hash: g.hash, ciphertext: "pending", label: input.label, group: input.group,
          allowIps: input.allowIps, expiresAt: input.expiresAt, models: input.models, spendLimit: input.spendLimit,
          scopes: input.scopes,
        }).returning().get();
        const ciphertext = ctx.keyring.encrypt(g.key, keyAad(inserted.id, userId));
        ctx.db.update(apiKeys).set({ ciphertext }).where(eq(apiKeys.id, inserted.id)).run();
        recordAudit(ctx, actor, "key.create", `key:${inserted.id}`, { userId, prefix: publicPrefix(ctx.config.RELAY_KEY_PREFIX, g.publicId), scopes: input.scopes, group: input.group });
        return { ...inserted, ciphertext };
      }).immediate();
      return { row, key: g.key };
    } catch (err) {
      // A public-id collision (1 in 62^8 per pair) is retried with a fresh key.
      if (attempt < 3 && String(err).includes("UNIQUE constraint failed: api_keys.public_id")) continue;
      throw err;
    }
  }
}

export function listKeys(ctx: AppContext, userId?: number): ApiKeyRow[] {
  const q = ctx.db.select().from(apiKeys);
  return (userId === undefined ? q : q.where(eq(apiKeys.userId, userId))).orderBy(asc(apiKeys.id)).all();
}

/** A key by id, optionally only if it belongs to `ownerId` (so other users' ids look like missing ones). */
export function getKey(ctx: AppContext, id: number, ownerId?: number): ApiKeyRow {
  const where = ownerId === undefined ? eq(apiKeys.id, id) : and(eq(apiKeys.id, id), eq(apiKeys.userId, ownerId));
  const row = Number.isSafeInteger(id) ? ctx.db.select().from(apiKeys).where(where).get() : undefined;
  if (!row) throw new ApiError("not_found", `no key with id ${id}`, "id");
  return row;
}

export function updateKey(ctx: AppContext, id: number, raw: UpdateKeyInput, actor: Actor, ownerId?: number): ApiKeyRow {
  const input = updateKeyInput.parse(raw);
  const key = getKey(ctx, id, ownerId);
  ctx.db.$client.transaction(() => {
    ctx.db.update(apiKeys).set(input).where(eq(apiKeys.id, key.id)).run();
    recordAudit(ctx, actor, "key.update", `key:${key.id}`, { changed: Object.keys(input), enabled: input.enabled });
  }).immediate();
  authChanged(ctx);
  return getKey(ctx, key.id);
}

export function deleteKey(ctx: AppContext, id: number, actor: Actor, ownerId?: number): void {
  const key = getKey(ctx, id, ownerId);
  ctx.db.$client.transaction(() => {
    ctx.db.delete(apiKeys).where(eq(apiKeys.id, key.id)).run();
    recordAudit(ctx, actor, "key.delete", `key:${key.id}`, { userId: key.userId });
  }).immediate();
  authChanged(ctx);
}

/**
 * Deletes every key of a user at once (account recovery: "revoke all API keys, then create new ones").
 * Effective on the next request, and running requests of those keys are cut (see auth/revocation.ts).
 */
export function deleteAllKeys(ctx: AppContext, userId: number, actor: Actor): number[] {
  const ids = listKeys(ctx, userId).map((k) => k.id);
  ctx.db.$client.transaction(() => {
    ctx.db.delete(apiKeys).where(eq(apiKeys.userId, userId)).run();
    recordAudit(ctx, actor, "key.delete-all", `user:${userId}`, { userId, keys: ids });
  }).immediate();
  authChanged(ctx);
  return ids;
}

/** Decrypts a key for an admin or its owner's session. Audited; the plaintext never enters the audit row. */
export function revealKey(ctx: AppContext, id: number, actor: Actor, ownerId?: number): string {
  const key = getKey(ctx, id, ownerId);
  const plaintext = ctx.keyring.decrypt(key.ciphertext, keyAad(key.id, key.userId));
  recordAudit(ctx, actor, "key.reveal", `key:${key.id}`, { userId: key.userId });
  return plaintext;
}
