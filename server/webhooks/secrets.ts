import type { AppContext } from "../context";
import type { WebhookRow } from "../../db/schema";
import { webhookAad } from "../keyring/aad";

/** How long the previous secret still signs after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

export const sealSecret = (ctx: AppContext, secret: string) => (id: number) => ctx.keyring.encrypt(secret, webhookAad(id));

/** The secrets that sign a delivery now: the current one, and the previous one while its overlap lasts. */
export function liveSecrets(ctx: AppContext, w: WebhookRow, now: number): string[] {
  const out = [ctx.keyring.decrypt(w.secretCiphertext, webhookAad(w.id))];
  if (w.previousSecretCiphertext && (w.previousSecretUntil ?? 0) > now) {
    out.push(ctx.keyring.decrypt(w.previousSecretCiphertext, webhookAad(w.id)));
  }
  return out;
}
