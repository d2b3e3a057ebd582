import { accountCols, membershipCols } from "./columns";
import { and, asc, count, eq, or } from "drizzle-orm";
import { accounts, apiKeys, memberships, users } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import { StoreConflict, type AccountStore } from "../types";
import { atomically, type Q, type Tx } from "./audit";
import { isInt4, mapUnique } from "./errors";

const NAME_TAKEN = { accounts_kind_name_unique: "NameTaken" } as const;

const getAccount = async (q: Q, id: number) => (isInt4(id) ? (await q.select(accountCols).from(accounts).where(eq(accounts.id, id)))[0] : undefined);
const membershipOf = async (q: Q, orgId: number, userId: number) =>
  isInt4(orgId) && isInt4(userId)
    ? (await q.select(membershipCols).from(memberships).where(and(eq(memberships.accountId, orgId), eq(memberships.userId, userId))))[0]
    : undefined;

/**
 * The last-owner rule under concurrency: locks the org's owners and the member concerned (FOR UPDATE, in
 * user id order so two callers never deadlock), then reads them. A concurrent demotion or removal of an
 * owner waits here until the other commits; READ COMMITTED then re-checks each locked row, so an owner
 * demoted or removed meanwhile is no longer counted. An owner added concurrently is not seen, which only
 * errs on the side of refusing.
 */
async function lockOwnersAnd(tx: Tx, orgId: number, userId: number) {
  const rows = await tx.select({ userId: memberships.userId, role: memberships.role }).from(memberships)
    .where(and(eq(memberships.accountId, orgId), or(eq(memberships.role, "owner"), eq(memberships.userId, userId))))
    .orderBy(asc(memberships.userId)).for("update");
  return { current: rows.find((r) => r.userId === userId), owners: rows.filter((r) => r.role === "owner").length };
}

export function pgAccounts(db: PgDb): AccountStore {
  return {
    async get(id) {
      return getAccount(db, id);
    },
    async find(kind, name) {
      return (await db.select(accountCols).from(accounts).where(and(eq(accounts.kind, kind), eq(accounts.name, name))))[0];
    },
    async list(kind) {
      return db.select(accountCols).from(accounts).where(eq(accounts.kind, kind)).orderBy(asc(accounts.id));
    },
    async update(id, fields, audit) {
      return mapUnique(() => atomically(db, audit, async (tx) => {
        const current = await getAccount(tx, id);
        if (!current) return undefined as never;
        if (fields.name !== undefined) {
          const [other] = await tx.select({ id: accounts.id }).from(accounts).where(and(eq(accounts.kind, current.kind), eq(accounts.name, fields.name)));
          if (other && other.id !== id) throw new StoreConflict("NameTaken");
        }
        if (Object.keys(fields).length === 0) return current;
        // Gone meanwhile (a concurrent deleteOrg): nothing written, nothing audited.
        return (await tx.update(accounts).set(fields).where(eq(accounts.id, id)).returning(accountCols))[0] as never;
      }), NAME_TAKEN);
    },
    async createOrg(fields, ownerId, audit) {
      // The check gives the common case its answer; the unique index (kind, name) decides a race.
      return mapUnique(() => atomically(db, audit, async (tx) => {
        const [taken] = await tx.select({ id: accounts.id }).from(accounts).where(and(eq(accounts.kind, "org"), eq(accounts.name, fields.name)));
        if (taken) throw new StoreConflict("NameTaken");
        const [org] = await tx.insert(accounts).values({ ...fields, kind: "org", credits: 0 }).returning(accountCols);
        if (ownerId !== null) await tx.insert(memberships).values({ accountId: org!.id, userId: ownerId, role: "owner" });
        return org!;
      }), NAME_TAKEN);
    },
    async deleteOrg(id, audit) {
      await atomically(db, audit, async (tx) => {
        // Conditional: a grant that lands between the caller's check and this delete still stops it (the
        // DELETE waits for the grant's row lock, then re-checks credits = 0 on the row as committed).
        const gone = isInt4(id)
          ? await tx.delete(accounts).where(and(eq(accounts.id, id), eq(accounts.kind, "org"), eq(accounts.credits, 0))).returning({ id: accounts.id })
          : [];
        if (gone.length === 0) throw new StoreConflict("HoldsCredits");
        return true;
      });
    },
    async membership(orgId, userId) {
      return membershipOf(db, orgId, userId);
    },
    async members(orgId) {
      if (!isInt4(orgId)) return [];
      const rows = await db.select({ m: membershipCols, name: users.name }).from(memberships).innerJoin(users, eq(users.id, memberships.userId))
        .where(eq(memberships.accountId, orgId)).orderBy(asc(memberships.createdAt), asc(memberships.userId));
      return rows.map((r) => ({ ...r.m, name: r.name }));
    },
    async membershipsOf(userId) {
      if (!isInt4(userId)) return [];
      const rows = await db.select({ m: membershipCols, org: accountCols }).from(memberships).innerJoin(accounts, eq(accounts.id, memberships.accountId))
        .where(and(eq(memberships.userId, userId), eq(accounts.kind, "org"))).orderBy(asc(accounts.id));
      return rows.map((r) => ({ org: r.org, membership: r.m }));
    },
    async addMember(row, audit) {
      return atomically(db, audit, async (tx) => {
        // ON CONFLICT DO NOTHING waits for a concurrent insert of the same member and then yields no row.
        const [inserted] = await tx.insert(memberships).values(row).onConflictDoNothing({ target: [memberships.accountId, memberships.userId] }).returning(membershipCols);
        if (!inserted) throw new StoreConflict("AlreadyMember");
        return inserted;
      });
    },
    async updateMember(orgId, userId, fields, audit) {
      if (!isInt4(orgId) || !isInt4(userId)) return undefined;
      return atomically(db, audit, async (tx) => {
        const { current, owners } = await lockOwnersAnd(tx, orgId, userId);
        if (!current) return undefined;
        if (current.role === "owner" && fields.role !== undefined && fields.role !== "owner" && owners <= 1) throw new StoreConflict("LastOwner");
        const where = and(eq(memberships.accountId, orgId), eq(memberships.userId, userId));
        if (Object.keys(fields).length > 0) return (await tx.update(memberships).set(fields).where(where).returning(membershipCols))[0];
        return membershipOf(tx, orgId, userId);
      });
    },
    async removeMember(orgId, userId, audit) {
      if (!isInt4(orgId) || !isInt4(userId)) return false;
      return atomically(db, audit, async (tx) => {
        const { current, owners } = await lockOwnersAnd(tx, orgId, userId);
        if (!current) return false;
        if (current.role === "owner" && owners <= 1) throw new StoreConflict("LastOwner");
        await tx.delete(memberships).where(and(eq(memberships.accountId, orgId), eq(memberships.userId, userId)));
        return true;
      });
    },
    async keyCount(orgId) {
      if (!isInt4(orgId)) return 0;
      return (await db.select({ n: count() }).from(apiKeys).where(eq(apiKeys.accountId, orgId)))[0]!.n;
    },
  };
}
