import type { AppContext } from "../context";
import { SESSION_SECRET_AAD, SESSION_SECRET_SETTING } from "../sessions/secret";
import { appendNewMasterKey } from "./master-key-file";
import { authChanged } from "../auth/revocation";

export { channelAad } from "./aad";

/**
 * Adds a new master key and re-encrypts every secret under it in one transaction. Until it commits,
 * old rows keep decrypting with the old key (which stays in the file); if it fails, nothing changes
 * except that the file holds one more, unused key. The session secret is re-encrypted too, not counted in
 * `reencrypted` (keys, channels and webhook secrets), and unchanged, so sessions stay valid.
 */
export async function rotateMasterKey(ctx: AppContext, actor: string): Promise<{ previous: string; current: string; reencrypted: number }> {
  const previous = ctx.keyring.currentId();
  const fresh = appendNewMasterKey(ctx.config.masterKeyPath);
  const id = ctx.keyring.add(fresh);
  ctx.keyring.setCurrent(id);
  let count: number;
  try {
    count = await ctx.stores.secrets.reencryptAll(
      (ciphertext, aad) => ctx.keyring.encrypt(ctx.keyring.decrypt(ciphertext, aad), aad),
      { [SESSION_SECRET_SETTING]: SESSION_SECRET_AAD },
      id,
      (n) => ({ actor, action: "master-key.rotate", target: id, detail: { previous, reencrypted: n } }),
    );
  } catch (err) {
    ctx.keyring.setCurrent(previous);
    throw err;
  }
  await authChanged(ctx);
  return { previous, current: id, reencrypted: count };
}
