import { getTableColumns } from "drizzle-orm";
import { accounts, apiKeys, memberships } from "../../../db/pg/schema";

/**
 * The columns of the tables that carry cluster mode's held amounts, without them: the stores return the
 * same rows as SQLite's (what is held is admission's business, read by limits/cluster code only).
 */
function without<T extends Record<string, unknown>, K extends string>(cols: T, ...drop: K[]): Omit<T, K> {
  const out = { ...cols };
  for (const k of drop) delete out[k];
  return out;
}

export const accountCols = without(getTableColumns(accounts), "held", "heldTokens");
export const apiKeyCols = without(getTableColumns(apiKeys), "held");
export const membershipCols = without(getTableColumns(memberships), "held");
