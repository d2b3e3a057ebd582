import { accountCols, apiKeyCols, membershipCols } from "./columns";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { accounts, apiKeys, memberships, users } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import type { KeyStore, NewKey } from "../types";
import { atomically, type Tx } from "./audit";
import { isInt4, mapUnique } from "./errors";

/** Inside a transaction. The AAD names the row id: insert first, then encrypt. */
async function insert(tx: Tx, values: NewKey, seal: (id: number) => string | null) {
  const [inserted] = await tx.insert(apiKeys).values({ ...values, ciphertext: null }).returning(apiKeyCols);
  const ciphertext = seal(inserted!.id);
  if (ciphertext !== null) await tx.update(apiKeys).set({ ciphertext }).where(eq(apiKeys.id, inserted!.id));
  return { ...inserted!, ciphertext };
}

export function pgKeys(db: PgDb): KeyStore {
  return {
    async create(values, seal, audit) {
      return mapUnique(() => atomically(db, audit, (tx) => insert(tx, values, seal)), { api_keys_hash_unique: "DuplicateKey" });
    },
    async rotate(oldId, values, seal, until, audit) {
      if (!isInt4(oldId)) return undefined;
      return mapUnique(() => atomically(db, audit, async (tx) => {
        // The row lock this takes also orders a concurrent update of the old key after the rotation.
        const [old] = await tx.update(apiKeys).set({ expiresAt: sql`least(coalesce(${apiKeys.expiresAt}, ${until}::bigint), ${until}::bigint)` })
          .where(eq(apiKeys.id, oldId)).returning(apiKeyCols);
        return old && { key: await insert(tx, values, seal), old };
      }), { api_keys_hash_unique: "DuplicateKey" });
    },
    async get(id, accountId) {
      if (!isInt4(id) || (accountId !== undefined && !isInt4(accountId))) return undefined;
      const where = accountId === undefined ? eq(apiKeys.id, id) : and(eq(apiKeys.id, id), eq(apiKeys.accountId, accountId));
      return (await db.select(apiKeyCols).from(apiKeys).where(where))[0];
    },
    async list({ accountId, userId }) {
      if ((accountId !== undefined && !isInt4(accountId)) || (userId !== undefined && !isInt4(userId))) return [];
      const conds = [accountId !== undefined ? eq(apiKeys.accountId, accountId) : undefined, userId !== undefined ? eq(apiKeys.userId, userId) : undefined].filter((c) => c !== undefined);
      const q = db.select(apiKeyCols).from(apiKeys);
      return (conds.length ? q.where(and(...conds)) : q).orderBy(asc(apiKeys.id));
    },
    async update(id, fields, audit) {
      await atomically(db, audit, async (tx) => {
        if (Object.keys(fields).length > 0 && isInt4(id)) await tx.update(apiKeys).set(fields).where(eq(apiKeys.id, id));
        return true;
      });
    },
    async delete(ids, audit) {
      await atomically(db, audit, async (tx) => {
        const valid = ids.filter(isInt4);
        if (valid.length > 0) await tx.delete(apiKeys).where(inArray(apiKeys.id, valid));
        return true;
      });
    },
    async credential(digest) {
      // One statement, so one snapshot: the key, its account, user and membership as of the same moment.
      const [r] = await db.select({ key: apiKeyCols, account: accountCols, user: users, membership: membershipCols }).from(apiKeys)
        .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
        .leftJoin(users, eq(users.id, apiKeys.userId))
        .leftJoin(memberships, and(eq(accounts.kind, "org"), eq(memberships.accountId, apiKeys.accountId), eq(memberships.userId, apiKeys.userId)))
        .where(eq(apiKeys.hash, digest));
      return r && { key: r.key, account: r.account, user: r.user ?? null, membership: r.membership ?? null };
    },
  };
}
