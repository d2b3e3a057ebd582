import { asc, eq } from "drizzle-orm";
import { channels } from "../../../db/schema";
import type { Db } from "../../../db/client";
import { StoreConflict, type ChannelStore } from "../types";
import { atomically } from "./audit";

const nameTaken = (db: Db, name: string, selfId?: number) => {
  const other = db.select({ id: channels.id }).from(channels).where(eq(channels.name, name)).get();
  return other !== undefined && other.id !== selfId;
};

export function sqliteChannels(db: Db): ChannelStore {
  return {
    async list() {
      return db.select().from(channels).orderBy(asc(channels.id)).all();
    },
    async get(id) {
      return Number.isSafeInteger(id) ? db.select().from(channels).where(eq(channels.id, id)).get() : undefined;
    },
    async create(values, seal, audit) {
      return atomically(db, audit, () => {
        if (nameTaken(db, values.name)) throw new StoreConflict("NameTaken");
        const inserted = db.insert(channels).values({ ...values, apiKeyCiphertext: "pending" }).returning().get();
        const apiKeyCiphertext = seal(inserted.id);
        db.update(channels).set({ apiKeyCiphertext }).where(eq(channels.id, inserted.id)).run();
        return { ...inserted, apiKeyCiphertext };
      });
    },
    async update(id, fields, audit) {
      atomically(db, audit, () => {
        if (fields.name !== undefined && nameTaken(db, fields.name, id)) throw new StoreConflict("NameTaken");
        if (Object.keys(fields).length > 0) db.update(channels).set(fields).where(eq(channels.id, id)).run();
        return true;
      });
    },
    async delete(id, audit) {
      atomically(db, audit, () => {
        db.delete(channels).where(eq(channels.id, id)).run();
        return true;
      });
    },
  };
}
