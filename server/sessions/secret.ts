import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { settings } from "../../db/schema";
import type { AppContext } from "../context";

/** The settings row holding the keyring ciphertext of the session signing secret. */
export const SESSION_SECRET_SETTING = "session.secret";
/** AAD binding that ciphertext to its purpose, so no other ciphertext can be swapped in. */
export const SESSION_SECRET_AAD = "session_secret";

/**
 * The 32-byte HMAC secret that signs session JWTs. Generated once, stored encrypted under the master key
 * (so it survives restarts and needs no configuration of its own), and decrypted at start-up. If another
 * process creates it at the same moment, the row that reached the database first wins and both use it.
 */
export function loadSessionSecret(ctx: AppContext): Uint8Array {
  const stored = readCiphertext(ctx);
  if (stored !== undefined) return decode(ctx, stored);
  const fresh = randomBytes(32).toString("base64");
  ctx.db.insert(settings)
    .values({ key: SESSION_SECRET_SETTING, value: ctx.keyring.encrypt(fresh, SESSION_SECRET_AAD) })
    .onConflictDoNothing()
    .run();
  return decode(ctx, readCiphertext(ctx)!);
}

/**
 * Re-encrypts the stored secret under the keyring's current master key; called by master-key rotation
 * inside its transaction. The secret itself is unchanged, so sessions issued before the rotation stay valid.
 * Returns the number of rows re-encrypted (0 before the first login route was ever set up).
 */
export function reencryptSessionSecret(ctx: AppContext): number {
  const stored = readCiphertext(ctx);
  if (stored === undefined) return 0;
  const value = ctx.keyring.encrypt(ctx.keyring.decrypt(stored, SESSION_SECRET_AAD), SESSION_SECRET_AAD);
  ctx.db.update(settings).set({ value }).where(eq(settings.key, SESSION_SECRET_SETTING)).run();
  return 1;
}

function readCiphertext(ctx: AppContext): string | undefined {
  return ctx.db.select().from(settings).where(eq(settings.key, SESSION_SECRET_SETTING)).get()?.value;
}

function decode(ctx: AppContext, ciphertext: string): Uint8Array {
  const secret = Buffer.from(ctx.keyring.decrypt(ciphertext, SESSION_SECRET_AAD), "base64");
  // A wrong length means the row was written by something else: fail closed rather than sign with it.
  if (secret.length !== 32) throw new Error("the stored session secret is not 32 bytes");
  return new Uint8Array(secret);
}
