import { asc, eq, sql } from "drizzle-orm";
import { prices } from "../../../db/pg/schema";
import type { PgDb } from "../../../db/pg/client";
import type { PriceStore } from "../types";
import { atomically } from "./audit";

export function pgPrices(db: PgDb): PriceStore {
  return {
    async list() {
      // Byte order, as SQLite's default BINARY collation sorts, whatever the database's collation.
      return db.select().from(prices).orderBy(asc(sql`${prices.model} COLLATE "C"`));
    },
    async set(model, price, audit) {
      return atomically(db, audit, async (tx) => {
        const now = Date.now();
        const [row] = await tx.insert(prices).values({ model, ...price, updatedAt: now })
          .onConflictDoUpdate({ target: prices.model, set: { ...price, updatedAt: now } }).returning();
        return row!;
      });
    },
    async delete(model, audit) {
      return atomically(db, audit, async (tx) => (await tx.delete(prices).where(eq(prices.model, model)).returning({ model: prices.model })).length > 0);
    },
  };
}
