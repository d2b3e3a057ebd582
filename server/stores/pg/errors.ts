import { StoreConflict } from "../types";

/** SQLSTATE unique_violation. */
export const UNIQUE_VIOLATION = "23505";

type ServerError = { errno: string; constraint?: string };

/** The server's error behind `err` (drizzle wraps Bun.sql's PostgresError in a DrizzleQueryError's `cause`). */
export function serverError(err: unknown): ServerError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e === "object" && typeof (e as { errno?: unknown }).errno === "string") return e as ServerError;
  }
  return undefined;
}

/**
 * Runs `fn`, turning a unique violation of one of the constraints named into the store's conflict: the
 * race a check inside the transaction cannot see (a concurrent insert not yet committed) ends there.
 */
export async function mapUnique<T>(fn: () => Promise<T>, constraints: Record<string, StoreConflict["kind"]>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = serverError(err);
    if (e?.errno === UNIQUE_VIOLATION && e.constraint !== undefined && e.constraint in constraints) throw new StoreConflict(constraints[e.constraint]!);
    throw err;
  }
}

/** PostgreSQL's `integer`: the id columns of accounts, users, api_keys and channels. An id outside it names no row. */
export const isInt4 = (n: number): boolean => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647;
