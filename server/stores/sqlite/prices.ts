import { asc } from "drizzle-orm";
import { prices } from "../../../db/schema";
import type { Db } from "../../../db/client";
import type { PriceStore } from "../types";
import { atomically } from "./audit";

export function sqlitePrices(db: Db): PriceStore {
  return {
    async list() {
      return db.select().from(prices).orderBy(asc(prices.model)).all();
    },
    async set(model, price, audit) {
      return atomically(db, audit, () =>
        db.insert(prices).values({ model, ...price, updatedAt: Date.now() })
          .onConflictDoUpdate({ target: prices.model, set: { ...price, updatedAt: Date.now() } }).returning().get());
    },
    async delete(model, audit) {
      return atomically(db, audit, () => db.$client.query("DELETE FROM prices WHERE model = ?").run(model).changes > 0);
    },
  };
}
