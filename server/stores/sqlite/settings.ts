import { eq } from "drizzle-orm";
import { apiKeys, channels, settings, webhooks } from "../../../db/schema";
import { webhookAad } from "../../keyring/aad";
import type { Db } from "../../../db/client";
import type { SecretStore, SettingsStore } from "../types";
import { writeAudit } from "./audit";

const KEYRING_CURRENT = "keyring.current";

export function sqliteSettings(db: Db): SettingsStore {
  return {
    async get(key) {
      return db.select().from(settings).where(eq(settings.key, key)).get()?.value;
    },
    async putIfAbsent(key, value) {
      db.insert(settings).values({ key, value }).onConflictDoNothing().run();
      return db.select().from(settings).where(eq(settings.key, key)).get()!.value;
    },
  };
}

/** api_key rows are sealed with AAD `api_key:<id>:<account>`, channels with `channel:<id>` (see keys/service.ts, keyring/rotate.ts). */
export function sqliteSecrets(db: Db, aads: { key: (id: number, accountId: number) => string; channel: (id: number) => string }): SecretStore {
  return {
    async reencryptAll(reseal, settingAads, keyringId, audit) {
      return db.$client.transaction(() => {
        let count = 0;
        for (const k of db.select({ id: apiKeys.id, accountId: apiKeys.accountId, c: apiKeys.ciphertext }).from(apiKeys).all()) {
          if (k.c === null) continue; // write-once: nothing stored to re-encrypt
          db.update(apiKeys).set({ ciphertext: reseal(k.c, aads.key(k.id, k.accountId)) }).where(eq(apiKeys.id, k.id)).run();
          count++;
        }
        for (const c of db.select({ id: channels.id, c: channels.apiKeyCiphertext }).from(channels).all()) {
          db.update(channels).set({ apiKeyCiphertext: reseal(c.c, aads.channel(c.id)) }).where(eq(channels.id, c.id)).run();
          count++;
        }
        for (const w of db.select().from(webhooks).all()) {
          const previous = w.previousSecretCiphertext === null ? null : reseal(w.previousSecretCiphertext, webhookAad(w.id));
          db.update(webhooks).set({ secretCiphertext: reseal(w.secretCiphertext, webhookAad(w.id)), previousSecretCiphertext: previous }).where(eq(webhooks.id, w.id)).run();
          count++;
        }
        // Settings that hold ciphertexts (the session secret): re-encrypted, not counted.
        for (const [key, aad] of Object.entries(settingAads)) {
          const row = db.select().from(settings).where(eq(settings.key, key)).get();
          if (row) db.update(settings).set({ value: reseal(row.value, aad) }).where(eq(settings.key, key)).run();
        }
        db.insert(settings).values({ key: KEYRING_CURRENT, value: keyringId }).onConflictDoUpdate({ target: settings.key, set: { value: keyringId } }).run();
        writeAudit(db, audit(count));
        return count;
      }).immediate();
    },
  };
}
