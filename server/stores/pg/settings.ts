import { asc, eq, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import { apiKeys, channels, settings, webhooks } from "../../../db/pg/schema";
import { webhookAad } from "../../keyring/aad";
import type { PgDb } from "../../../db/pg/client";
import type { SecretStore, SettingsStore } from "../types";
import { writeAudit, type Tx } from "./audit";

/** `UPDATE table SET column = v.value FROM (VALUES (id, value), ...)`, a few hundred rows a statement. */
async function setById(tx: Tx, table: PgTable, column: PgColumn, rows: { id: number; value: string }[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const values = sql.join(rows.slice(i, i + 500).map((r) => sql`(${r.id}::integer, ${r.value}::text)`), sql`, `);
    await tx.execute(sql`UPDATE ${table} SET ${sql.identifier(column.name)} = v.value FROM (VALUES ${values}) AS v(id, value) WHERE ${table}."id" = v.id`);
  }
}

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
        // conflicts with itself, so two rotations run one after the other. Taken first, before this transaction
        // holds any row lock (auth_epoch included); writes to these tables, the settlement writer's key spend
        // among them, wait until it commits.
        await tx.execute(sql`LOCK TABLE ${apiKeys}, ${channels}, ${settings}, ${webhooks} IN SHARE ROW EXCLUSIVE MODE`);
        // Resealed first (pure computation), then written in batches: the tables stay locked for as few round trips as can be.
        const keys = (await tx.select({ id: apiKeys.id, accountId: apiKeys.accountId, c: apiKeys.ciphertext }).from(apiKeys).orderBy(asc(apiKeys.id)))
          .filter((k): k is { id: number; accountId: number; c: string } => k.c !== null) // write-once: nothing stored to re-encrypt
          .map((k) => ({ id: k.id, value: reseal(k.c, aads.key(k.id, k.accountId)) }));
        const chans = (await tx.select({ id: channels.id, c: channels.apiKeyCiphertext }).from(channels).orderBy(asc(channels.id)))
          .map((c) => ({ id: c.id, value: reseal(c.c, aads.channel(c.id)) }));
        await setById(tx, apiKeys, apiKeys.ciphertext, keys);
        await setById(tx, channels, channels.apiKeyCiphertext, chans);
        // Few rows: one statement each (a webhook holds two ciphertexts during a rotation's overlap).
        const hooks = await tx.select().from(webhooks).orderBy(asc(webhooks.id));
        for (const w of hooks) {
          const previous = w.previousSecretCiphertext === null ? null : reseal(w.previousSecretCiphertext, webhookAad(w.id));
          await tx.update(webhooks).set({ secretCiphertext: reseal(w.secretCiphertext, webhookAad(w.id)), previousSecretCiphertext: previous }).where(eq(webhooks.id, w.id));
        }
        const count = keys.length + chans.length + hooks.length;
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
