import { accountCols } from "./columns";
import { and, asc, eq } from "drizzle-orm";
import { accounts, users } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import { StoreConflict, type UserStore } from "../types";
import { atomically, type Q } from "./audit";
import { isInt4, mapUnique } from "./errors";

const byId = async (q: Q, id: number) => (isInt4(id) ? (await q.select().from(users).where(eq(users.id, id)))[0] : undefined);

export function pgUsers(db: PgDb): UserStore {
  return {
    async byName(name) {
      return (await db.select().from(users).where(eq(users.name, name)))[0];
    },
    async byId(id) {
      return byId(db, id);
    },
    async list() {
      return db.select().from(users).orderBy(asc(users.id));
    },
    async create(user, account, audit) {
      // The checks answer the common case; users.name and accounts (kind, name) being unique decide a race.
      return mapUnique(() => atomically(db, audit, async (tx) => {
        if ((await tx.select({ id: users.id }).from(users).where(eq(users.name, user.name)))[0]) throw new StoreConflict("NameTaken");
        // A user's personal account carries the user's name (unique among personal accounts).
        if ((await tx.select({ id: accounts.id }).from(accounts).where(and(eq(accounts.kind, "user"), eq(accounts.name, user.name))))[0]) throw new StoreConflict("NameTaken");
        const [a] = await tx.insert(accounts).values({ ...account, kind: "user", name: user.name, credits: 0 }).returning(accountCols);
        return (await tx.insert(users).values({ ...user, accountId: a!.id }).returning())[0]!;
      }), { users_name_unique: "NameTaken", accounts_kind_name_unique: "NameTaken" });
    },
    async update(id, user, account, audit) {
      return atomically(db, audit, async (tx) => {
        const u = await byId(tx, id);
        if (!u) return undefined as never;
        if (Object.keys(user).length > 0) await tx.update(users).set(user).where(eq(users.id, id));
        if (Object.keys(account).length > 0) await tx.update(accounts).set(account).where(eq(accounts.id, u.accountId));
        return (await byId(tx, id)) as never;
      });
    },
  };
}
