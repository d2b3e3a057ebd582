import { integer, sqliteTable } from "drizzle-orm/sqlite-core";

/**
 * One row whose counter grows whenever a key or user changes in a way authentication cares about, from
 * any connection or process: triggers (migration 0003) bump it, so no writer has to remember to. The key
 * cache reads it to tell such changes from the settlement writer's commits, which touch only balances,
 * spend and last-used times. A column added to api_keys or users that authentication reads must be added
 * to those triggers' column lists.
 */
export const authEpoch = sqliteTable("auth_epoch", {
  id: integer("id").primaryKey(),
  n: integer("n").notNull(),
});
