import type { AccountRow } from "../../db/schema";
import type { AppContext } from "../context";
import { ApiError } from "../errors";

/** Account lookups the services share, over ctx.stores.accounts. */
export function getAccount(ctx: AppContext, id: number): Promise<AccountRow | undefined> {
  return ctx.stores.accounts.get(id);
}

export function findAccount(ctx: AppContext, kind: AccountRow["kind"], name: string): Promise<AccountRow | undefined> {
  return ctx.stores.accounts.find(kind, name);
}

/** An org by name, or 404 `not_found`. */
export async function orgByName(ctx: AppContext, name: string): Promise<AccountRow> {
  const org = await findAccount(ctx, "org", name);
  if (!org) throw new ApiError("not_found", `no organization named ${name}`, "org");
  return org;
}

export function listAccounts(ctx: AppContext, kind: AccountRow["kind"]): Promise<AccountRow[]> {
  return ctx.stores.accounts.list(kind);
}
