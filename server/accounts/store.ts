import { and, asc, eq } from "drizzle-orm";
import { accounts, type AccountRow } from "../../db/schema";
import type { AppContext } from "../context";
import { ApiError } from "../errors";

/** Account rows: every query on the accounts table goes through here. */
export function getAccount(ctx: AppContext, id: number): AccountRow | undefined {
  return ctx.db.select().from(accounts).where(eq(accounts.id, id)).get();
}

export function findAccount(ctx: AppContext, kind: AccountRow["kind"], name: string): AccountRow | undefined {
  return ctx.db.select().from(accounts).where(and(eq(accounts.kind, kind), eq(accounts.name, name))).get();
}

/** An org by name, or 404 `not_found`. */
export function orgByName(ctx: AppContext, name: string): AccountRow {
  const org = findAccount(ctx, "org", name);
  if (!org) throw new ApiError("not_found", `no organization named ${name}`, "org");
  return org;
}

export function listAccounts(ctx: AppContext, kind: AccountRow["kind"]): AccountRow[] {
  return ctx.db.select().from(accounts).where(eq(accounts.kind, kind)).orderBy(asc(accounts.id)).all();
}

/** Inserts an account with a zero balance (credits arrive through the ledger); call inside a transaction. */
export function insertAccount(ctx: AppContext, fields: Omit<typeof accounts.$inferInsert, "id" | "credits" | "createdAt">): AccountRow {
  return ctx.db.insert(accounts).values({ ...fields, credits: 0 }).returning().get();
}

/** Changes an account's limits or settings (never its balance, which only the ledger moves). */
export function updateAccountRow(ctx: AppContext, id: number, fields: Partial<Omit<AccountRow, "id" | "credits" | "kind" | "createdAt">>): void {
  if (Object.keys(fields).length > 0) ctx.db.update(accounts).set(fields).where(eq(accounts.id, id)).run();
}
