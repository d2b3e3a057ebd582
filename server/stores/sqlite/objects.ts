import { and, desc, eq, lt } from "drizzle-orm";
import { objects } from "../../../db/schema";
import type { Db } from "../../../db/client";
import type { ObjectStore } from "../types";

export function sqliteObjects(db: Db): ObjectStore {
  return {
    async record(o) {
      const now = Date.now();
      return db.insert(objects).values({ ...o, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: [objects.kind, objects.upstreamId, objects.channelId], set: { status: o.status, meta: o.meta, updatedAt: now } })
        .returning().get();
    },
    async find(kind, upstreamId, accountId) {
      return db.select().from(objects)
        .where(and(eq(objects.kind, kind), eq(objects.upstreamId, upstreamId), eq(objects.accountId, accountId)))
        .orderBy(desc(objects.id)).get();
    },
    async list(kind, accountId, { limit, before }) {
      const where = before === undefined
        ? and(eq(objects.accountId, accountId), eq(objects.kind, kind))
        : and(eq(objects.accountId, accountId), eq(objects.kind, kind), lt(objects.id, before));
      return db.select().from(objects).where(where).orderBy(desc(objects.id)).limit(limit).all();
    },
    async update(id, fields) {
      db.update(objects).set({ ...fields, updatedAt: Date.now() }).where(eq(objects.id, id)).run();
    },
    async remove(id) {
      db.delete(objects).where(eq(objects.id, id)).run();
    },
  };
}
