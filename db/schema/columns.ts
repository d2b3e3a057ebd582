import { integer } from "drizzle-orm/sqlite-core";

/** Milliseconds since the epoch; numbers, not Dates, so the hot path never allocates a Date per row. */
export const createdAt = () => integer("created_at").notNull().$defaultFn(() => Date.now());
export const bool = (name: string) => integer(name, { mode: "boolean" });
