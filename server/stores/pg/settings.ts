import { eq, sql } from "drizzle-orm";
import { apiKeys, channels, settings } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import type { SecretStore, SettingsStore } from "../types";
import { writeAudit } from "./audit";

/** The settings key of the current master key id (server/keyring/setup.ts). */
const KEYRING_CURRENT = "keyring.current";

export function pgSettings(db: PgDb): SettingsStore {
  return {
    async get(key) {
      return (await db.select().from(settings).where(eq(settings.key, key)))[0]?.value;
    },
    async putIfAbsent(key, value) {
      // A concurrent insert of the same key is waited for; the read after it sees whichever value won.
      const [mine] = await db.insert(settings).values({ key, value }).onConflictDoNothing({ target: settings.key }).returning({ value: settings.value });
      return mine ? mine.value : (await db.select().from(settings).where(eq(settings.key, key)))[0]!.value;
    },
  };
}

/** api_key rows are sealed with AAD `api_key:<id>:<account>`, channels with `channel:<id>` (see keys/service.ts, keyring/rotate.ts). */
export function pgSecrets(db: PgDb, aads: { key: (id: number, accountId: number) => string; channel: (id: number) => string }): SecretStore {
  return {
    async reencryptAll(reseal, settingAads, keyringId, audit) {
      return db.transaction(async (tx) => {
        // SQLite's IMMEDIATE transaction keeps every other writer out while it runs; here the three tables
        // are locked against writes (reads go on): a key or channel inserted or re-sealed concurrently
        // would otherwise keep a ciphertext under the old key, or have its new one overwritten. The mode
        // conflicts with itself, so two rotations run one after the other.
        await tx.execute(sql`LOCK TABLE ${apiKeys}, ${channels}, ${settings} IN SHARE ROW EXCLUSIVE MODE`);
        let count = 0;
        for (const k of await tx.select({ id: apiKeys.id, accountId: apiKeys.accountId, c: apiKeys.ciphertext }).from(apiKeys)) {
          if (k.c === null) continue; // write-once: nothing stored to re-encrypt
          await tx.update(apiKeys).set({ ciphertext: reseal(k.c, aads.key(k.id, k.accountId)) }).where(eq(apiKeys.id, k.id));
          count++;
        }
        for (const c of await tx.select({ id: channels.id, c: channels.apiKeyCiphertext }).from(channels)) {
          await tx.update(channels).set({ apiKeyCiphertext: reseal(c.c, aads.channel(c.id)) }).where(eq(channels.id, c.id));
          count++;
        }
        // Settings that hold ciphertexts (the session secret): re-encrypted, not counted.
        for (const [key, aad] of Object.entries(settingAads)) {
          const [row] = await tx.select().from(settings).where(eq(settings.key, key));
          if (row) await tx.update(settings).set({ value: reseal(row.value, aad) }).where(eq(settings.key, key));
        }
        await tx.insert(settings).values({ key: KEYRING_CURRENT, value: keyringId }).onConflictDoUpdate({ target: settings.key, set: { value: keyringId } });
        await writeAudit(tx, audit(count));
        return count;
      });
    },
  };
}
