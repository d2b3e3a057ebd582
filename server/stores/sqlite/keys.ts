import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { accounts, apiKeys, memberships, users } from "../../../db/schema";
import type { Db } from "../../../db/client";
import { StoreConflict, type KeyStore, type NewKey } from "../types";
import { atomically } from "./audit";

export function sqliteKeys(db: Db): KeyStore {
  /** Call inside a transaction. The AAD names the row id: insert first, then encrypt. */
  const insert = (values: NewKey, seal: (id: number) => string | null) => {
    const inserted = db.insert(apiKeys).values({ ...values, ciphertext: null }).returning().get();
    const ciphertext = seal(inserted.id);
    if (ciphertext !== null) db.update(apiKeys).set({ ciphertext }).where(eq(apiKeys.id, inserted.id)).run();
    return { ...inserted, ciphertext };
  };
  const duplicate = (err: unknown) => (String(err).includes("UNIQUE constraint failed: api_keys.hash") ? new StoreConflict("DuplicateKey") : err);
  return {
    async create(values, seal, audit) {
      try {
        return atomically(db, audit, () => insert(values, seal));
      } catch (err) {
        throw duplicate(err);
      }
    },
    async rotate(oldId, values, seal, until, audit) {
      if (!Number.isSafeInteger(oldId)) return undefined;
      try {
        return atomically(db, audit, () => {
          const old = db.update(apiKeys).set({ expiresAt: sql`min(coalesce(${apiKeys.expiresAt}, ${until}), ${until})` }).where(eq(apiKeys.id, oldId)).returning().get();
          return old && { key: insert(values, seal), old };
        });
      } catch (err) {
        throw duplicate(err);
      }
    },
    async get(id, accountId) {
      if (!Number.isSafeInteger(id)) return undefined;
      const where = accountId === undefined ? eq(apiKeys.id, id) : and(eq(apiKeys.id, id), eq(apiKeys.accountId, accountId));
      return db.select().from(apiKeys).where(where).get();
    },
    async list({ accountId, userId }) {
      const conds = [accountId !== undefined ? eq(apiKeys.accountId, accountId) : undefined, userId !== undefined ? eq(apiKeys.userId, userId) : undefined].filter((c) => c !== undefined);
      const q = db.select().from(apiKeys);
      return (conds.length ? q.where(and(...conds)) : q).orderBy(asc(apiKeys.id)).all();
    },
    async update(id, fields, audit) {
      atomically(db, audit, () => {
        if (Object.keys(fields).length > 0) db.update(apiKeys).set(fields).where(eq(apiKeys.id, id)).run();
        return true;
      });
    },
    async delete(ids, audit) {
      atomically(db, audit, () => {
        if (ids.length > 0) db.delete(apiKeys).where(inArray(apiKeys.id, ids)).run();
        return true;
      });
    },
    async credential(digest) {
      const key = db.select().from(apiKeys).where(eq(apiKeys.hash, digest)).get();
      if (!key) return undefined;
      const account = db.select().from(accounts).where(eq(accounts.id, key.accountId)).get();
      if (!account) return undefined;
      const user = key.userId === null ? null : db.select().from(users).where(eq(users.id, key.userId)).get() ?? null;
      const membership = account.kind === "org" && key.userId !== null
        ? db.select().from(memberships).where(and(eq(memberships.accountId, key.accountId), eq(memberships.userId, key.userId))).get() ?? null
        : null;
      return { key, account, user, membership };
    },
  };
}
