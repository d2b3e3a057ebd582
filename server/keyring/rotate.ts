import { eq } from "drizzle-orm";
import { apiKeys, channels } from "../../db/schema";
import type { AppContext } from "../context";
import { recordAudit } from "../audit/audit";
import { keyAad } from "../keys/service";
import { reencryptSessionSecret } from "../sessions/secret";
import { appendNewMasterKey } from "./master-key-file";
import { saveCurrentKeyId } from "./setup";
import { authChanged } from "../auth/revocation";

export const channelAad = (id: number) => `channel:${id}`;

/**
 * Adds a new master key and re-encrypts every secret under it in one transaction. Until it commits,
 * old rows keep decrypting with the old key (which stays in the file); if it fails, nothing changes
 * except that the file holds one more, unused key.
 */
export function rotateMasterKey(ctx: AppContext, actor: string): { previous: string; current: string; reencrypted: number } {
  const previous = ctx.keyring.currentId();
  const fresh = appendNewMasterKey(ctx.config.masterKeyPath);
  const id = ctx.keyring.add(fresh);
  let count = 0;
  ctx.db.$client.transaction(() => {
    ctx.keyring.setCurrent(id);
    try {
      for (const k of ctx.db.select({ id: apiKeys.id, accountId: apiKeys.accountId, c: apiKeys.ciphertext }).from(apiKeys).all()) {
        if (k.c === null) continue; // write-once: nothing stored to re-encrypt
        const aad = keyAad(k.id, k.accountId);
        ctx.db.update(apiKeys).set({ ciphertext: ctx.keyring.encrypt(ctx.keyring.decrypt(k.c, aad), aad) }).where(eq(apiKeys.id, k.id)).run();
        count++;
      }
      for (const c of ctx.db.select({ id: channels.id, c: channels.apiKeyCiphertext }).from(channels).all()) {
        const aad = channelAad(c.id);
        ctx.db.update(channels).set({ apiKeyCiphertext: ctx.keyring.encrypt(ctx.keyring.decrypt(c.c, aad), aad) }).where(eq(channels.id, c.id)).run();
        count++;
      }
      // Not counted in `reencrypted` (keys and channels); the secret is unchanged, so sessions stay valid.
      reencryptSessionSecret(ctx);
      saveCurrentKeyId(ctx.db, id);
      recordAudit(ctx, actor, "master-key.rotate", id, { previous, reencrypted: count });
    } catch (err) {
      ctx.keyring.setCurrent(previous);
      throw err;
    }
  }).immediate();
  authChanged(ctx);
  return { previous, current: id, reencrypted: count };
}
