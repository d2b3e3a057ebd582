import { asc, eq } from "drizzle-orm";
import { users, type UserRow } from "../../db/schema";
import { ApiError } from "../errors";
import { actorName, recordAudit, type Actor } from "../audit/audit";
import { applyLedgerEntry } from "../billing/ledger";
import type { AppContext } from "../context";
import { createUserInput, updateUserInput, type CreateUserInput, type UpdateUserInput } from "./model";
import { authChanged } from "../auth/revocation";


export function publicUser(u: UserRow) {
  return {
    id: u.id,
    name: u.name,
    enabled: u.enabled,
    role: u.role,
    concurrency: u.concurrency,
    monthlyTokens: u.monthlyTokens,
    credits: u.credits,
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

export function listUsers(ctx: AppContext): UserRow[] {
  return ctx.db.select().from(users).orderBy(asc(users.id)).all();
}

export function createUser(ctx: AppContext, raw: CreateUserInput, actor: Actor): UserRow {
  const input = createUserInput.parse(raw);
  if (findUserByName(ctx, input.name)) throw new ApiError("conflict", `a user named ${input.name} already exists`, "name");
  const user = ctx.db.$client.transaction(() => {
    const u = ctx.db.insert(users).values({
      name: input.name, role: input.role, concurrency: input.concurrency,
      monthlyTokens: input.monthlyTokens, enabled: input.enabled,
    }).returning().get();
    recordAudit(ctx, actor, "user.create", `user:${u.name}`, { concurrency: u.concurrency, monthlyTokens: u.monthlyTokens, role: u.role });
    return u;
  }).immediate();
  if (input.credits > 0) {
    applyLedgerEntry(ctx, { userId: user.id, kind: "grant", amount: input.credits, ref: `grant:init:${user.id}`, actor: actorName(actor), note: "initial credits" });
  }
  authChanged(ctx);
  return getUserById(ctx, user.id)!;
}

export async function updateUser(ctx: AppContext, name: string, raw: UpdateUserInput, actor: Actor): Promise<UserRow> {
  const input = updateUserInput.parse(raw);
  const user = getUserByName(ctx, name);
  const { password, ...fields } = input;
  const passwordHash = password === undefined ? undefined : await Bun.password.hash(password, { algorithm: "argon2id" });
  ctx.db.$client.transaction(() => {
    ctx.db.update(users).set({ ...fields, ...(passwordHash ? { passwordHash } : {}) }).where(eq(users.id, user.id)).run();
    const changed = Object.keys(fields).concat(password !== undefined ? ["password"] : []);
    recordAudit(ctx, actor, "user.update", `user:${user.name}`, { changed, ...fields });
  }).immediate();
  authChanged(ctx);
  return getUserById(ctx, user.id)!;
}
