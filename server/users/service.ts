import { asc, eq } from "drizzle-orm";
import { users, type AccountRow, type UserRow } from "../../db/schema";
import { ApiError } from "../errors";
import { actorName, recordAudit, type Actor } from "../audit/audit";
import { applyLedgerEntry } from "../billing/ledger";
import type { AppContext } from "../context";
import { getAccount, insertAccount, updateAccountRow } from "../accounts/store";
import { authChanged } from "../auth/revocation";
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

export function findUserByName(ctx: AppContext, name: string): UserRow | undefined {
  return ctx.db.select().from(users).where(eq(users.name, name)).get();
}

export function getUserByName(ctx: AppContext, name: string): UserRow {
  const u = findUserByName(ctx, name);
  if (!u) throw new ApiError("not_found", `no user named ${name}`, "name");
  return u;
}

export function getUserById(ctx: AppContext, id: number): UserRow | undefined {
  return ctx.db.select().from(users).where(eq(users.id, id)).get();
}

/** A user's personal account (every user has one). */
export function personalAccount(ctx: AppContext, u: UserRow): AccountRow {
  const a = getAccount(ctx, u.accountId);
  if (!a) throw new Error(`user ${u.id} has no personal account ${u.accountId}`);
  return a;
}

export function listUsers(ctx: AppContext): UserRow[] {
  return ctx.db.select().from(users).orderBy(asc(users.id)).all();
}

/** Creates a user with their personal account (limits there), and the initial credits as a ledger grant. */
export function createUser(ctx: AppContext, raw: CreateUserInput, actor: Actor): UserRow {
  const input = createUserInput.parse(raw);
  if (findUserByName(ctx, input.name)) throw new ApiError("conflict", `a user named ${input.name} already exists`, "name");
  const user = ctx.db.$client.transaction(() => {
    const account = insertAccount(ctx, {
      kind: "user", name: input.name, concurrency: input.concurrency, monthlyTokens: input.monthlyTokens, rpm: input.rpm, tpm: input.tpm,
    });
    const u = ctx.db.insert(users).values({ name: input.name, role: input.role, enabled: input.enabled, accountId: account.id }).returning().get();
    recordAudit(ctx, actor, "user.create", `user:${u.name}`, { concurrency: account.concurrency, monthlyTokens: account.monthlyTokens, role: u.role });
    return u;
  }).immediate();
  if (input.credits > 0) {
    applyLedgerEntry(ctx, { accountId: user.accountId, userId: user.id, kind: "grant", amount: input.credits, ref: `grant:init:${user.id}`, actor: actorName(actor), note: "initial credits" });
  }
  authChanged(ctx);
  return getUserById(ctx, user.id)!;
}

export async function updateUser(ctx: AppContext, name: string, raw: UpdateUserInput, actor: Actor): Promise<UserRow> {
  const input = updateUserInput.parse(raw);
  const user = getUserByName(ctx, name);
  const { password, concurrency, monthlyTokens, rpm, tpm, ...fields } = input;
  const limits = Object.fromEntries(Object.entries({ concurrency, monthlyTokens, rpm, tpm }).filter(([, v]) => v !== undefined));
  const passwordHash = password === undefined ? undefined : await Bun.password.hash(password, { algorithm: "argon2id" });
  ctx.db.$client.transaction(() => {
    const userFields = { ...fields, ...(passwordHash ? { passwordHash } : {}) };
    if (Object.keys(userFields).length > 0) ctx.db.update(users).set(userFields).where(eq(users.id, user.id)).run();
    updateAccountRow(ctx, user.accountId, limits);
    const changed = Object.keys(fields).concat(Object.keys(limits), password !== undefined ? ["password"] : []);
    recordAudit(ctx, actor, "user.update", `user:${user.name}`, { changed, ...fields, ...limits });
  }).immediate();
  authChanged(ctx);
  return getUserById(ctx, user.id)!;
}
