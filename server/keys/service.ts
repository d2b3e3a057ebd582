import { and, asc, eq } from "drizzle-orm";
import { apiKeys, type AccountRow, type ApiKeyRow } from "../../db/schema";
import { ApiError } from "../errors";
import { recordAudit, type Actor } from "../audit/audit";
import type { AppContext } from "../context";
import { authChanged } from "../auth/revocation";
import { getAccount } from "../accounts/store";
import { digestHex, generateKey, keyPrefixOf, prefixOfKey } from "./key-format";
import { createKeyInput, updateKeyInput, type CreateKeyInput, type UpdateKeyInput } from "./model";

/** The AAD that binds a key's ciphertext to its row. */
export const keyAad = (id: number, accountId: number) => `api_key:${id}:${accountId}`;

/** Who a key belongs to: the account it charges, its kind, and the user behind it (null: a service key made over the admin socket). */
export type KeyOwner = { accountId: number; kind: ApiKeyRow["kind"]; userId: number | null };

/** A key as admins and owners see it: never the hash or the ciphertext; scopes in the deployment's names. */
export function publicKey(ctx: AppContext, k: ApiKeyRow) {
  return {
    id: k.id,
    accountId: k.accountId,
    kind: k.kind,
    userId: k.userId,
    prefix: keyPrefixOf(ctx, k),
    label: k.label,
    enabled: k.enabled,
    group: k.group,
    allowIps: k.allowIps,
    expiresAt: k.expiresAt === null ? null : new Date(k.expiresAt).toISOString(),
    models: k.models,
    spendLimit: k.spendLimit,
    spent: k.spent,
    rpm: k.rpm,
    tpm: k.tpm,
    scopes: ctx.scopes.shown(k.scopes),
    revealable: k.ciphertext !== null,
    createdAt: new Date(k.createdAt).toISOString(),
    lastUsedAt: k.lastUsedAt === null ? null : new Date(k.lastUsedAt).toISOString(),
  };
}
export type PublicKey = ReturnType<typeof publicKey>;

/** Whether keys of this account keep a ciphertext (can be revealed later): the account's setting, else RELAY_KEY_REVEAL. */
export function revealable(ctx: AppContext, account: AccountRow | undefined): boolean {
  return (account?.keyReveal ?? ctx.config.RELAY_KEY_REVEAL) === "always";
}

/**
 * Creates a key (or stores one brought from elsewhere: `imported`, its plaintext or only its SHA-256) and
 * returns its row and, for a new key, the plaintext, which the caller shows once.
 */
export function createKey(ctx: AppContext, owner: KeyOwner, raw: CreateKeyInput, actor: Actor, imported?: { key?: string; sha256?: string }): { row: ApiKeyRow; key: string | null } {
  const input = createKeyInput.parse(raw);
  const scopes = ctx.scopes.canonical(input.scopes);
  const account = getAccount(ctx, owner.accountId);
  const keep = revealable(ctx, account);
  for (let attempt = 0; ; attempt++) {
    const g = imported?.key !== undefined ? { key: imported.key, prefix: prefixOfKey(imported.key, ctx.config.keyFormat), hash: digestHex(imported.key) }
      : imported?.sha256 !== undefined ? { key: null, prefix: `sha256:${imported.sha256.slice(0, 8)}`, hash: imported.sha256 }
      : generateKey(ctx.config.keyFormat);
    try {
      const row = ctx.db.$client.transaction(() => {
        const inserted = ctx.db.insert(apiKeys).values({
          accountId: owner.accountId, kind: owner.kind, userId: owner.userId, prefix: g.prefix, hash: g.hash, ciphertext: null,
          label: input.label, group: input.group, allowIps: input.allowIps, expiresAt: input.expiresAt, models: input.models,
          spendLimit: input.spendLimit, rpm: input.rpm, tpm: input.tpm, scopes,
        }).returning().get();
        // The AAD needs the row id, so insert first and encrypt inside the same transaction.
        const ciphertext = keep && g.key !== null ? ctx.keyring.encrypt(g.key, keyAad(inserted.id, owner.accountId)) : null;
        if (ciphertext) ctx.db.update(apiKeys).set({ ciphertext }).where(eq(apiKeys.id, inserted.id)).run();
        recordAudit(ctx, actor, imported ? "key.import" : "key.create", `key:${inserted.id}`, {
          accountId: owner.accountId, kind: owner.kind, userId: owner.userId, prefix: g.prefix, scopes, group: input.group, revealable: ciphertext !== null,
        });
        return { ...inserted, ciphertext };
      }).immediate();
      authChanged(ctx);
      return { row, key: imported ? null : g.key };
    } catch (err) {
      const duplicate = String(err).includes("UNIQUE constraint failed: api_keys.hash");
      // An import of a key relay already holds is refused without saying whose it is.
      if (duplicate && imported) throw new ApiError("conflict", "This key is already in use on this relay; import a different one.", "key");
      // A collision of freshly generated keys (1 in 2^128 or less) is retried with a new one.
      if (duplicate && attempt < 3) continue;
      throw err;
    }
  }
}

/** An account's keys; with `userId`, only that user's (a member's own keys in an org). */
export function listKeys(ctx: AppContext, accountId?: number, userId?: number): ApiKeyRow[] {
  const conds = [accountId !== undefined ? eq(apiKeys.accountId, accountId) : undefined, userId !== undefined ? eq(apiKeys.userId, userId) : undefined].filter((c) => c !== undefined);
  const q = ctx.db.select().from(apiKeys);
  return (conds.length ? q.where(and(...conds)) : q).orderBy(asc(apiKeys.id)).all();
}

/** A key by id, optionally only within an account (so another account's ids look like missing ones). */
export function getKey(ctx: AppContext, id: number, accountId?: number): ApiKeyRow {
  const where = accountId === undefined ? eq(apiKeys.id, id) : and(eq(apiKeys.id, id), eq(apiKeys.accountId, accountId));
  const row = Number.isSafeInteger(id) ? ctx.db.select().from(apiKeys).where(where).get() : undefined;
  if (!row) throw new ApiError("not_found", `no key with id ${id}`, "id");
  return row;
}

export function updateKey(ctx: AppContext, id: number, raw: UpdateKeyInput, actor: Actor, accountId?: number): ApiKeyRow {
  const input = updateKeyInput.parse(raw);
  const key = getKey(ctx, id, accountId);
  const fields = { ...input, ...(input.scopes ? { scopes: ctx.scopes.canonical(input.scopes) } : {}) };
  ctx.db.$client.transaction(() => {
    ctx.db.update(apiKeys).set(fields).where(eq(apiKeys.id, key.id)).run();
    recordAudit(ctx, actor, "key.update", `key:${key.id}`, { changed: Object.keys(input), enabled: input.enabled });
  }).immediate();
  authChanged(ctx);
  return getKey(ctx, key.id);
}

export function deleteKey(ctx: AppContext, id: number, actor: Actor, accountId?: number): void {
  const key = getKey(ctx, id, accountId);
  ctx.db.$client.transaction(() => {
    ctx.db.delete(apiKeys).where(eq(apiKeys.id, key.id)).run();
    recordAudit(ctx, actor, "key.delete", `key:${key.id}`, { accountId: key.accountId, userId: key.userId });
  }).immediate();
  authChanged(ctx);
}

/**
 * Deletes every key of an account (account recovery: "revoke all API keys, then create new ones"), or only
 * one user's there. Effective on the next request, and running requests of those keys are cut.
 */
export function deleteAllKeys(ctx: AppContext, accountId: number, actor: Actor, userId?: number): number[] {
  const ids = listKeys(ctx, accountId, userId).map((k) => k.id);
  ctx.db.$client.transaction(() => {
    for (const id of ids) ctx.db.delete(apiKeys).where(eq(apiKeys.id, id)).run();
    recordAudit(ctx, actor, "key.delete-all", `account:${accountId}`, { accountId, userId: userId ?? null, keys: ids });
  }).immediate();
  authChanged(ctx);
  return ids;
}

/** Decrypts a key for an admin or its owner's session. Audited; the plaintext never enters the audit row. */
export function revealKey(ctx: AppContext, id: number, actor: Actor, accountId?: number): string {
  const key = getKey(ctx, id, accountId);
  if (key.ciphertext === null) {
    throw new ApiError("reveal_disabled", "This key is write-once (or was imported by its hash): relay keeps no copy to reveal. Create a new key instead.");
  }
  const plaintext = ctx.keyring.decrypt(key.ciphertext, keyAad(key.id, key.accountId));
  recordAudit(ctx, actor, "key.reveal", `key:${key.id}`, { accountId: key.accountId });
  return plaintext;
}
