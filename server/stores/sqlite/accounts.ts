import { and, asc, eq, sql } from "drizzle-orm";
import { accounts, apiKeys, memberships, users, type AccountRow, type MembershipRow } from "../../../db/schema";
import type { Db } from "../../../db/client";
import { StoreConflict, type AccountStore } from "../types";
import { atomically } from "./audit";

const getAccount = (db: Db, id: number) => db.select().from(accounts).where(eq(accounts.id, id)).get();
const ownerCount = (db: Db, orgId: number) =>
  db.select({ n: sql<number>`count(*)` }).from(memberships).where(and(eq(memberships.accountId, orgId), eq(memberships.role, "owner"))).get()!.n;
const membershipOf = (db: Db, orgId: number, userId: number) =>
  db.select().from(memberships).where(and(eq(memberships.accountId, orgId), eq(memberships.userId, userId))).get();

export function sqliteAccounts(db: Db): AccountStore {
  return {
    async get(id) {
      return getAccount(db, id);
    },
    async find(kind, name) {
      return db.select().from(accounts).where(and(eq(accounts.kind, kind), eq(accounts.name, name))).get();
    },
    async list(kind) {
      return db.select().from(accounts).where(eq(accounts.kind, kind)).orderBy(asc(accounts.id)).all();
    },
    async update(id, fields, audit) {
      return atomically(db, audit, () => {
        const current = getAccount(db, id);
        if (!current) return undefined as never;
        if (fields.name !== undefined) {
          const other = db.select({ id: accounts.id }).from(accounts).where(and(eq(accounts.kind, current.kind), eq(accounts.name, fields.name))).get();
          if (other && other.id !== id) throw new StoreConflict("NameTaken");
        }
        if (Object.keys(fields).length > 0) db.update(accounts).set(fields).where(eq(accounts.id, id)).run();
        return getAccount(db, id)!;
      });
    },
    async createOrg(fields, ownerId, audit) {
      return atomically(db, audit, () => {
        if (db.select({ id: accounts.id }).from(accounts).where(and(eq(accounts.kind, "org"), eq(accounts.name, fields.name))).get()) throw new StoreConflict("NameTaken");
        const org = db.insert(accounts).values({ ...fields, kind: "org", credits: 0 }).returning().get();
        if (ownerId !== null) db.insert(memberships).values({ accountId: org.id, userId: ownerId, role: "owner" }).run();
        return org;
      });
    },
    async deleteOrg(id, audit) {
      atomically(db, audit, () => {
        // Conditional: a grant that lands between the caller's check and this delete still stops it.
        const gone = db.$client.query("DELETE FROM accounts WHERE id = ? AND kind = 'org' AND credits = 0").run(id);
        if (gone.changes === 0) throw new StoreConflict("HoldsCredits");
        return true;
      });
    },
    async membership(orgId, userId) {
      return membershipOf(db, orgId, userId);
    },
    async members(orgId) {
      return db.select({ m: memberships, name: users.name }).from(memberships).innerJoin(users, eq(users.id, memberships.userId))
        .where(eq(memberships.accountId, orgId)).orderBy(asc(memberships.createdAt), asc(memberships.userId)).all()
        .map((r) => ({ ...r.m, name: r.name }));
    },
    async membershipsOf(userId) {
      return db.select({ m: memberships, org: accounts }).from(memberships).innerJoin(accounts, eq(accounts.id, memberships.accountId))
        .where(and(eq(memberships.userId, userId), eq(accounts.kind, "org"))).orderBy(asc(accounts.id)).all()
        .map((r) => ({ org: r.org as AccountRow, membership: r.m as MembershipRow }));
    },
    async addMember(row, audit) {
      return atomically(db, audit, () => {
        if (membershipOf(db, row.accountId, row.userId)) throw new StoreConflict("AlreadyMember");
        return db.insert(memberships).values(row).returning().get();
      });
    },
    async updateMember(orgId, userId, fields, audit) {
      return atomically(db, audit, () => {
        const current = membershipOf(db, orgId, userId);
        if (!current) return undefined;
        if (current.role === "owner" && fields.role !== undefined && fields.role !== "owner" && ownerCount(db, orgId) <= 1) throw new StoreConflict("LastOwner");
        if (Object.keys(fields).length > 0) db.update(memberships).set(fields).where(and(eq(memberships.accountId, orgId), eq(memberships.userId, userId))).run();
        return membershipOf(db, orgId, userId);
      });
    },
    async removeMember(orgId, userId, audit) {
      return atomically(db, audit, () => {
        const current = membershipOf(db, orgId, userId);
        if (!current) return false;
        if (current.role === "owner" && ownerCount(db, orgId) <= 1) throw new StoreConflict("LastOwner");
        db.delete(memberships).where(and(eq(memberships.accountId, orgId), eq(memberships.userId, userId))).run();
        return true;
      });
    },
    async keyCount(orgId) {
      return db.select({ n: sql<number>`count(*)` }).from(apiKeys).where(eq(apiKeys.accountId, orgId)).get()!.n;
    },
  };
}
