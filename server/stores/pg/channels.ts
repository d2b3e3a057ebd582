import { and, asc, eq, ne } from "drizzle-orm";
import { channels } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import { StoreConflict, type ChannelStore } from "../types";
import { atomically, type Q } from "./audit";
import { isInt4, mapUnique } from "./errors";

const NAME_TAKEN = { channels_name_unique: "NameTaken" } as const;

const nameTaken = async (q: Q, name: string, selfId?: number) => {
  const where = selfId !== undefined && isInt4(selfId) ? and(eq(channels.name, name), ne(channels.id, selfId)) : eq(channels.name, name);
  return (await q.select({ id: channels.id }).from(channels).where(where).limit(1)).length > 0;
};

export function pgChannels(db: PgDb): ChannelStore {
  return {
    async list() {
      return db.select().from(channels).orderBy(asc(channels.id));
    },
    async get(id) {
      return isInt4(id) ? (await db.select().from(channels).where(eq(channels.id, id)))[0] : undefined;
    },
    async create(values, seal, audit) {
      // The check answers the common case; channels.name being unique decides a race.
      return mapUnique(() => atomically(db, audit, async (tx) => {
        if (await nameTaken(tx, values.name)) throw new StoreConflict("NameTaken");
        const [inserted] = await tx.insert(channels).values({ ...values, apiKeyCiphertext: "pending" }).returning();
        const apiKeyCiphertext = seal(inserted!.id);
        await tx.update(channels).set({ apiKeyCiphertext }).where(eq(channels.id, inserted!.id));
        return { ...inserted!, apiKeyCiphertext };
      }), NAME_TAKEN);
    },
    async update(id, fields, audit) {
      await mapUnique(() => atomically(db, audit, async (tx) => {
        if (fields.name !== undefined && await nameTaken(tx, fields.name, id)) throw new StoreConflict("NameTaken");
        if (Object.keys(fields).length > 0 && isInt4(id)) await tx.update(channels).set(fields).where(eq(channels.id, id));
        return true;
      }), NAME_TAKEN);
    },
    async delete(id, audit) {
      await atomically(db, audit, async (tx) => {
        if (isInt4(id)) await tx.delete(channels).where(eq(channels.id, id));
        return true;
      });
    },
  };
}
