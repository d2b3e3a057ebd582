import { randomBytes } from "node:crypto";
import type { AppContext } from "../context";

/** The settings row holding the keyring ciphertext of the session signing secret. */
export const SESSION_SECRET_SETTING = "session.secret";
/** AAD binding that ciphertext to its purpose, so no other ciphertext can be swapped in. */
export const SESSION_SECRET_AAD = "session_secret";

/**
 * The 32-byte HMAC secret that signs session JWTs. Generated once, stored encrypted under the master key
 * (so it survives restarts and needs no configuration of its own), and decrypted at start-up. If another
 * process creates it at the same moment, the row that reached the database first wins and both use it.
 * Master-key rotation re-encrypts it with the other secrets (keyring/rotate.ts).
 */
export async function loadSessionSecret(ctx: AppContext): Promise<Uint8Array> {
  const stored = await ctx.stores.settings.get(SESSION_SECRET_SETTING);
  if (stored !== undefined) return decode(ctx, stored);
  const fresh = randomBytes(32).toString("base64");
  return decode(ctx, await ctx.stores.settings.putIfAbsent(SESSION_SECRET_SETTING, ctx.keyring.encrypt(fresh, SESSION_SECRET_AAD)));
}

function decode(ctx: AppContext, ciphertext: string): Uint8Array {
  const secret = Buffer.from(ctx.keyring.decrypt(ciphertext, SESSION_SECRET_AAD), "base64");
  // A wrong length means the row was written by something else: fail closed rather than sign with it.
  if (secret.length !== 32) throw new Error("the stored session secret is not 32 bytes");
  return new Uint8Array(secret);
}
