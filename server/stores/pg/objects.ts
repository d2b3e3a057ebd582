import { and, desc, eq, lt } from "drizzle-orm";
import { objects } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import type { ObjectStore } from "../types";
import { isInt4 } from "./errors";

export function pgObjects(db: PgDb): ObjectStore {
  return {
    async record(o) {
      const now = Date.now();
      const [row] = await db.insert(objects).values({ ...o, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [objects.kind, objects.upstreamId, objects.channelId], set: { status: o.status, meta: o.meta, updatedAt: now } })
        .returning();
      return row!;
    },
    async find(kind, upstreamId, accountId) {
      if (!isInt4(accountId)) return undefined;
      const [row] = await db.select().from(objects)
        .where(and(eq(objects.kind, kind), eq(objects.upstreamId, upstreamId), eq(objects.accountId, accountId)))
        .orderBy(desc(objects.id)).limit(1);
      return row;
    },
    async list(kind, accountId, { limit, before }) {
      if (!isInt4(accountId)) return [];
      const where = before === undefined
        ? and(eq(objects.accountId, accountId), eq(objects.kind, kind))
        : and(eq(objects.accountId, accountId), eq(objects.kind, kind), lt(objects.id, before));
      return db.select().from(objects).where(where).orderBy(desc(objects.id)).limit(limit);
    },
    async update(id, fields) {
      if (!isInt4(id)) return;
      await db.update(objects).set({ ...fields, updatedAt: Date.now() }).where(eq(objects.id, id));
    },
    async remove(id) {
      if (!isInt4(id)) return;
      await db.delete(objects).where(eq(objects.id, id));
    },
  };
}
