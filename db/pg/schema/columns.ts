import { sql } from "drizzle-orm";
import { bigint, boolean, customType } from "drizzle-orm/pg-core";

/**
 * Column helpers shared by the PostgreSQL tables; the counterparts of db/schema/columns.ts.
 *
 * Every SQLite INTEGER is 64-bit, so every integer column that can hold a count, an amount, a limit or
 * a time is `bigint` here too (mode "number": a JS number, exact up to 2^53, which is all a number
 * from zod's `.int()` can be anyway). Only row ids of the small tables (accounts, users, api_keys,
 * channels), the columns that hold them, auth_epoch.id and an HTTP status stay `integer`.
 */

/** Milliseconds since the epoch; numbers, not Dates, so the hot path never allocates a Date per row. */
export const createdAt = () => bigint("created_at", { mode: "number" }).notNull().$defaultFn(() => Date.now());
export const bool = (name: string) => boolean(name);
/** A 64-bit integer read and written as a JS number (SQLite's INTEGER). */
export const int64 = (name: string) => bigint(name, { mode: "number" });

/**
 * `jsonb`, written so that Bun.sql stores the value itself. drizzle-orm 0.45's own `jsonb()` hands
 * Bun.sql the JSON text, and Bun 1.4.5 encodes a string bound to a jsonb parameter as a JSON string,
 * so every object landed as a jsonb *string* (`"{\"a\":1}"`): drizzle read it back fine, but jsonb
 * operators, indexes and any raw query saw a string. Binding the text as `$n::text::jsonb` makes the
 * parameter a text one, which Bun sends verbatim, and the server parses it: objects, arrays and
 * scalars all round-trip, whatever Bun's JSON heuristics. Bun parses jsonb results itself, so the
 * value read is used as it is (drizzle's own would JSON.parse a JSON string a second time).
 * Use `.$type<T>()` as with SQLite's `text(..., { mode: "json" })`.
 */
export const jsonb = customType<{ data: unknown; driverData: unknown }>({
  dataType: () => "jsonb",
  toDriver: (value) => sql`${JSON.stringify(value)}::text::jsonb`,
  fromDriver: (value) => value,
});
