import { z } from "zod";
import type { ApiKeyRow } from "../../db/schema";
import type { Actor } from "../audit/audit";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { authChanged } from "../auth/revocation";
import { getAccount } from "../accounts/store";
import { membershipOf } from "../accounts/orgs";
import { strictObject } from "../http/strict-object";
import { keyAad } from "../keyring/aad";
import { StoreConflict, type Rotation } from "../stores/types";
import { generateKey } from "./key-format";
import { DEFAULT_OVERLAP, parseOverlap } from "./overlap";
import { revealable } from "./service";

const SUFFIX = " (rotated)";

/** The successor's label: the old one with ` (rotated)`, once (a key rotated again keeps a single suffix). */
export const rotatedLabel = (label: string) => (label.endsWith(SUFFIX) ? label : `${label.slice(0, 200 - SUFFIX.length)}${SUFFIX}`);

/** A rotation's body, for the admin socket and the public API alike: `overlap` only (checked by `overlapOf`). */
export const rotateBody = strictObject({ overlap: z.unknown().optional() });

/** The overlap a request or command asked for, in ms: absent means 24h; anything else must be a duration string. */
export function overlapOf(raw: unknown): number {
  if (raw === undefined) return (parseOverlap(DEFAULT_OVERLAP) as { ms: number }).ms;
  const r = typeof raw === "string" ? parseOverlap(raw) : { error: "overlap must be a string such as \"24h\", \"30m\", \"90s\", \"2d\" or \"0\" (at most 30d)" };
  if ("error" in r) throw new ApiError("invalid_request", r.error, "overlap");
  return r.ms;
}

/**
 * Replaces a key with a new one of the same owner and settings (label + ` (rotated)`), and lets the old
 * one work for `overlapMs` more: its expiry becomes now + overlap, unless it already expires sooner. From
 * then on authentication refuses it as expired (401 `key_expired`), on every instance, with no job to run;
 * requests it has running are cut then as for any expiry. The successor starts with nothing spent, and is
 * write-once when the old key was (or the account's keys now are). Returns the plaintext, shown once.
 */
export async function rotateKey(ctx: AppContext, old: ApiKeyRow, overlapMs: number, actor: Actor): Promise<Rotation & { plaintext: string }> {
  const now = Date.now();
  if (!old.enabled) throw new ApiError("invalid_request", `Key ${old.id} is disabled; there is nothing to overlap. Enable it first, or create a new key.`, "id");
  if (old.expiresAt !== null && old.expiresAt <= now) throw new ApiError("invalid_request", `Key ${old.id} has already expired; there is nothing to overlap. Create a new key instead.`, "id");
  if (old.kind === "member" && (old.userId === null || !await membershipOf(ctx, old.accountId, old.userId))) {
    throw new ApiError("invalid_request", `Key ${old.id}'s member is no longer in the organization, so it has no successor to make.`, "id");
  }
  const keep = old.ciphertext !== null && revealable(ctx, await getAccount(ctx, old.accountId));
  const until = now + overlapMs;
  for (let attempt = 0; ; attempt++) {
    const g = generateKey(ctx.config.keyFormat);
    try {
      const r = await ctx.stores.keys.rotate(old.id, {
        accountId: old.accountId, kind: old.kind, userId: old.userId, prefix: g.prefix, hash: g.hash, label: rotatedLabel(old.label),
        group: old.group, allowIps: old.allowIps, expiresAt: old.expiresAt, models: old.models, spendLimit: old.spendLimit, rpm: old.rpm, tpm: old.tpm, scopes: old.scopes,
      }, (id) => (keep ? ctx.keyring.encrypt(g.key, keyAad(id, old.accountId)) : null), until, ({ key, old: before }) => ({
        actor, action: "key.rotate", target: `key:${old.id}`,
        detail: {
          accountId: old.accountId, kind: old.kind, userId: old.userId, oldKeyId: old.id, newKeyId: key.id, prefix: g.prefix,
          overlapSeconds: overlapMs / 1000, oldExpiresAt: new Date(before.expiresAt!).toISOString(), revealable: key.ciphertext !== null,
        },
      }));
      if (!r) throw new ApiError("not_found", `no key with id ${old.id}`, "id");
      await authChanged(ctx);
      return { ...r, plaintext: g.key };
    } catch (err) {
      // A collision of freshly generated keys (1 in 2^128 or less) is retried with a new one.
      if (err instanceof StoreConflict && err.kind === "DuplicateKey" && attempt < 3) continue;
      throw err;
    }
  }
}

/** What a rotation answers: the new key as key creation shows it (plaintext under `key`), and what it replaces. */
export function rotationView<V>(r: Rotation & { plaintext: string }, view: (row: ApiKeyRow) => V) {
  return { ...view(r.key), key: r.plaintext, rotatedFrom: { id: r.old.id, expiresAt: new Date(r.old.expiresAt!).toISOString() } };
}
