import type { AccountRow, ApiKeyRow } from "../../db/schema";
import { ApiError } from "../errors";
import { recordAudit, type Actor } from "../audit/audit";
import type { AppContext } from "../context";
import { authChanged } from "../auth/revocation";
import { getAccount } from "../accounts/store";
import { keyAad } from "../keyring/aad";
import { StoreConflict } from "../stores/types";
import { digestHex, generateKey, keyPrefixOf, prefixOfKey } from "./key-format";
import { createKeyInput, updateKeyInput, type CreateKeyInput, type UpdateKeyInput } from "./model";

export { keyAad } from "../keyring/aad";

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
    status: keyStatus(k, Date.now()),
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

/** Keys that stop within this long show as `expiring`: a rotation's old key (overlaps are at most 30 days) among them. */
const EXPIRING_MS = 30 * 86_400_000;

/** Whether a key works now, and whether it soon stops: what lists show beside `enabled` and `expiresAt`. */
export function keyStatus(k: Pick<ApiKeyRow, "enabled" | "expiresAt">, now: number): "active" | "expiring" | "expired" | "disabled" {
  if (!k.enabled) return "disabled";
  if (k.expiresAt === null) return "active";
  return k.expiresAt <= now ? "expired" : k.expiresAt - now <= EXPIRING_MS ? "expiring" : "active";
}

/** Whether keys of this account keep a ciphertext (can be revealed later): the account's setting, else RELAY_KEY_REVEAL. */
export function revealable(ctx: AppContext, account: AccountRow | undefined): boolean {
  return (account?.keyReveal ?? ctx.config.RELAY_KEY_REVEAL) === "always";
}

/**
 * Creates a key (or stores one brought from elsewhere: `imported`, its plaintext or only its SHA-256) and
 * returns its row and, for a new key, the plaintext, which the caller shows once.
 */
export async function createKey(ctx: AppContext, owner: KeyOwner, raw: CreateKeyInput, actor: Actor, imported?: { key?: string; sha256?: string }): Promise<{ row: ApiKeyRow; key: string | null }> {
  const input = createKeyInput.parse(raw);
  const scopes = ctx.scopes.canonical(input.scopes);
  const keep = revealable(ctx, await getAccount(ctx, owner.accountId));
  for (let attempt = 0; ; attempt++) {
    const g = imported?.key !== undefined ? { key: imported.key, prefix: prefixOfKey(imported.key, ctx.config.keyFormat), hash: digestHex(imported.key) }
      : imported?.sha256 !== undefined ? { key: null, prefix: `sha256:${imported.sha256.slice(0, 8)}`, hash: imported.sha256 }
      : generateKey(ctx.config.keyFormat);
    try {
      const row = await ctx.stores.keys.create({
        accountId: owner.accountId, kind: owner.kind, userId: owner.userId, prefix: g.prefix, hash: g.hash,
        label: input.label, group: input.group, allowIps: input.allowIps, expiresAt: input.expiresAt, models: input.models,
        spendLimit: input.spendLimit, rpm: input.rpm, tpm: input.tpm, scopes,
      }, (id) => (keep && g.key !== null ? ctx.keyring.encrypt(g.key, keyAad(id, owner.accountId)) : null), (k) => ({
        actor, action: imported ? "key.import" : "key.create", target: `key:${k.id}`,
        detail: { accountId: owner.accountId, kind: owner.kind, userId: owner.userId, prefix: g.prefix, scopes, group: input.group, revealable: k.ciphertext !== null },
      }));
      await authChanged(ctx);
      return { row, key: imported ? null : g.key };
    } catch (err) {
      const duplicate = err instanceof StoreConflict && err.kind === "DuplicateKey";
      // An import of a key relay already holds is refused without saying whose it is.
      if (duplicate && imported) throw new ApiError("conflict", "This key is already in use on this relay; import a different one.", "key");
      // A collision of freshly generated keys (1 in 2^128 or less) is retried with a new one.
      if (duplicate && attempt < 3) continue;
      throw err;
    }
  }
}

/** An account's keys; with `userId`, only that user's (a member's own keys in an org). */
export function listKeys(ctx: AppContext, accountId?: number, userId?: number): Promise<ApiKeyRow[]> {
  return ctx.stores.keys.list({ accountId, userId });
}

/** A key by id, optionally only within an account (so another account's ids look like missing ones). */
export async function getKey(ctx: AppContext, id: number, accountId?: number): Promise<ApiKeyRow> {
  const row = await ctx.stores.keys.get(id, accountId);
  if (!row) throw new ApiError("not_found", `no key with id ${id}`, "id");
  return row;
}

export async function updateKey(ctx: AppContext, id: number, raw: UpdateKeyInput, actor: Actor, accountId?: number): Promise<ApiKeyRow> {
  const input = updateKeyInput.parse(raw);
  const key = await getKey(ctx, id, accountId);
  const fields = { ...input, ...(input.scopes ? { scopes: ctx.scopes.canonical(input.scopes) } : {}) };
  await ctx.stores.keys.update(key.id, fields, { actor, action: "key.update", target: `key:${key.id}`, detail: { changed: Object.keys(input), enabled: input.enabled } });
  await authChanged(ctx);
  return getKey(ctx, key.id);
}

export async function deleteKey(ctx: AppContext, id: number, actor: Actor, accountId?: number): Promise<void> {
  const key = await getKey(ctx, id, accountId);
  await ctx.stores.keys.delete([key.id], { actor, action: "key.delete", target: `key:${key.id}`, detail: { accountId: key.accountId, userId: key.userId } });
  await authChanged(ctx);
}

/**
 * Deletes every key of an account (account recovery: "revoke all API keys, then create new ones"), or only
 * one user's there. Effective on the next request, and running requests of those keys are cut.
 */
export async function deleteAllKeys(ctx: AppContext, accountId: number, actor: Actor, userId?: number): Promise<number[]> {
  const ids = (await listKeys(ctx, accountId, userId)).map((k) => k.id);
  await ctx.stores.keys.delete(ids, { actor, action: "key.delete-all", target: `account:${accountId}`, detail: { accountId, userId: userId ?? null, keys: ids } });
  await authChanged(ctx);
  return ids;
}

/** Decrypts a key for an admin or its owner's session. Audited; the plaintext never enters the audit row. */
export async function revealKey(ctx: AppContext, id: number, actor: Actor, accountId?: number): Promise<string> {
  const key = await getKey(ctx, id, accountId);
  if (key.ciphertext === null) {
    throw new ApiError("reveal_disabled", "This key is write-once (or was imported by its hash): relay keeps no copy to reveal. Create a new key instead.");
  }
  const plaintext = ctx.keyring.decrypt(key.ciphertext, keyAad(key.id, key.accountId));
  await recordAudit(ctx, actor, "key.reveal", `key:${key.id}`, { accountId: key.accountId });
  return plaintext;
}
