import type { AccountRow, UserRow } from "../../db/schema";
import { ApiError } from "../errors";
import { actorName, type Actor } from "../audit/audit";
import { applyLedgerEntry } from "../billing/ledger";
import type { AppContext } from "../context";
import { getAccount } from "../accounts/store";
import { authChanged } from "../auth/revocation";
import { StoreConflict } from "../stores/types";
import { createUserInput, updateUserInput, type CreateUserInput, type UpdateUserInput } from "./model";
/** A user as admins see them: the login, and the limits and balance of their personal account. */
export function publicUser(u: UserRow, a: AccountRow) {
  return {
    id: u.id,
    name: u.name,
    enabled: u.enabled,
    role: u.role,
    accountId: u.accountId,
    concurrency: a.concurrency,
    monthlyTokens: a.monthlyTokens,
    rpm: a.rpm,
    tpm: a.tpm,
    credits: a.credits,
    hasPassword: u.passwordHash !== null,
    createdAt: new Date(u.createdAt).toISOString(),
  };
}
export type PublicUser = ReturnType<typeof publicUser>;

export function findUserByName(ctx: AppContext, name: string): Promise<UserRow | undefined> {
  return ctx.stores.users.byName(name);
}

export async function getUserByName(ctx: AppContext, name: string): Promise<UserRow> {
  const u = await findUserByName(ctx, name);
  if (!u) throw new ApiError("not_found", `no user named ${name}`, "name");
  return u;
}

export function getUserById(ctx: AppContext, id: number): Promise<UserRow | undefined> {
  return ctx.stores.users.byId(id);
}

/** A user's personal account (every user has one). */
export async function personalAccount(ctx: AppContext, u: UserRow): Promise<AccountRow> {
  const a = await getAccount(ctx, u.accountId);
  if (!a) throw new Error(`user ${u.id} has no personal account ${u.accountId}`);
  return a;
}

export function listUsers(ctx: AppContext): Promise<UserRow[]> {
  return ctx.stores.users.list();
}

/** Creates a user with their personal account (limits there), and the initial credits as a ledger grant. */
export async function createUser(ctx: AppContext, raw: CreateUserInput, actor: Actor): Promise<UserRow> {
  const input = createUserInput.parse(raw);
  let user: UserRow;
  try {
    user = await ctx.stores.users.create(
      { name: input.name, role: input.role, enabled: input.enabled },
      { concurrency: input.concurrency, monthlyTokens: input.monthlyTokens, rpm: input.rpm, tpm: input.tpm },
      { actor, action: "user.create", target: `user:${input.name}`, detail: { concurrency: input.concurrency, monthlyTokens: input.monthlyTokens, role: input.role } },
    );
  } catch (err) {
    if (err instanceof StoreConflict && err.kind === "NameTaken") throw new ApiError("conflict", `a user named ${input.name} already exists`, "name");
    throw err;
  }
  if (input.credits > 0) {
    await applyLedgerEntry(ctx, { accountId: user.accountId, userId: user.id, kind: "grant", amount: input.credits, ref: `grant:init:${user.id}`, actor: actorName(actor), note: "initial credits" });
  }
  await authChanged(ctx);
  return (await getUserById(ctx, user.id))!;
}

export async function updateUser(ctx: AppContext, name: string, raw: UpdateUserInput, actor: Actor): Promise<UserRow> {
  const input = updateUserInput.parse(raw);
  const user = await getUserByName(ctx, name);
  const { password, concurrency, monthlyTokens, rpm, tpm, ...fields } = input;
  const limits = Object.fromEntries(Object.entries({ concurrency, monthlyTokens, rpm, tpm }).filter(([, v]) => v !== undefined));
  const passwordHash = password === undefined ? undefined : await Bun.password.hash(password, { algorithm: "argon2id" });
  const changed = Object.keys(fields).concat(Object.keys(limits), password !== undefined ? ["password"] : []);
  const updated = await ctx.stores.users.update(user.id, { ...fields, ...(passwordHash ? { passwordHash } : {}) }, limits,
    { actor, action: "user.update", target: `user:${user.name}`, detail: { changed, ...fields, ...limits } });
  await authChanged(ctx);
  return updated;
}
