import { and, asc, eq } from "drizzle-orm";
import { accounts, users } from "../../../db/schema";
import type { Db } from "../../../db/client";
import { StoreConflict, type UserStore } from "../types";
import { atomically } from "./audit";

const byId = (db: Db, id: number) => db.select().from(users).where(eq(users.id, id)).get();

export function sqliteUsers(db: Db): UserStore {
  return {
    async byName(name) {
      return db.select().from(users).where(eq(users.name, name)).get();
    },
    async byId(id) {
      return byId(db, id);
    },
    async list() {
      return db.select().from(users).orderBy(asc(users.id)).all();
    },
    async create(user, account, audit) {
      return atomically(db, audit, () => {
        if (db.select({ id: users.id }).from(users).where(eq(users.name, user.name)).get()) throw new StoreConflict("NameTaken");
        // A user's personal account carries the user's name (unique among personal accounts).
        if (db.select({ id: accounts.id }).from(accounts).where(and(eq(accounts.kind, "user"), eq(accounts.name, user.name))).get()) throw new StoreConflict("NameTaken");
        const a = db.insert(accounts).values({ ...account, kind: "user", name: user.name, credits: 0 }).returning().get();
        return db.insert(users).values({ ...user, accountId: a.id }).returning().get();
      });
    },
    async update(id, user, account, audit) {
      return atomically(db, audit, () => {
        const u = byId(db, id);
        if (!u) return undefined as never;
        if (Object.keys(user).length > 0) db.update(users).set(user).where(eq(users.id, id)).run();
        if (Object.keys(account).length > 0) db.update(accounts).set(account).where(eq(accounts.id, u.accountId)).run();
        return byId(db, id)!;
      });
    },
  };
}
