import { and, asc, eq, sql } from "drizzle-orm";
import { accounts, apiKeys, memberships, type AccountRow, type MembershipRow, type Role, type UserRow } from "../../db/schema";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { recordAudit, type Actor, actorName } from "../audit/audit";
import { applyLedgerEntry } from "../billing/ledger";
import { authChanged } from "../auth/revocation";
import { findAccount, getAccount, insertAccount, updateAccountRow } from "./store";
import { createOrgInput, memberInput, updateMemberInput, updateOrgInput, type CreateOrgInput, type MemberInput, type UpdateMemberInput, type UpdateOrgInput } from "./model";
import { getUserById, getUserByName } from "../users/service";

/**
 * Organizations: accounts with members. Every write goes through authChanged, so a removed member's keys,
 * a demotion or a suspension reach the next request and the requests already running.
 */
export function createOrg(ctx: AppContext, raw: CreateOrgInput, actor: Actor, owner?: UserRow): AccountRow {
  const input = createOrgInput.parse(raw);
  if (findAccount(ctx, "org", input.name)) throw new ApiError("conflict", `an organization named ${input.name} already exists`, "name");
  const org = ctx.db.$client.transaction(() => {
    const a = insertAccount(ctx, {
      kind: "org", name: input.name, concurrency: input.concurrency, monthlyTokens: input.monthlyTokens, rpm: input.rpm, tpm: input.tpm,
      models: input.models, keyReveal: input.keyReveal,
    });
    if (owner) ctx.db.insert(memberships).values({ accountId: a.id, userId: owner.id, role: "owner" }).run();
    recordAudit(ctx, actor, "org.create", `org:${a.name}`, { owner: owner?.name ?? null, concurrency: a.concurrency });
    return a;
  }).immediate();
  if (input.credits > 0) applyLedgerEntry(ctx, { accountId: org.id, kind: "grant", amount: input.credits, ref: `grant:init:org:${org.id}`, actor: actorName(actor), note: "initial credits" });
  authChanged(ctx);
  return getAccount(ctx, org.id)!;
}

export function updateOrg(ctx: AppContext, org: AccountRow, raw: UpdateOrgInput, actor: Actor): AccountRow {
  const input = updateOrgInput.parse(raw);
  if (input.name && input.name !== org.name && findAccount(ctx, "org", input.name)) throw new ApiError("conflict", `an organization named ${input.name} already exists`, "name");
  ctx.db.$client.transaction(() => {
    updateAccountRow(ctx, org.id, input);
    recordAudit(ctx, actor, input.suspended === true ? "org.suspend" : input.suspended === false ? "org.resume" : "org.update", `org:${org.name}`, { changed: Object.keys(input) });
  }).immediate();
  authChanged(ctx);
  return getAccount(ctx, org.id)!;
}

/** Deletes an org with its memberships and keys; refused while it holds credits (grant them away first). */
export function deleteOrg(ctx: AppContext, org: AccountRow, actor: Actor): void {
  if (org.credits > 0) throw new ApiError("conflict", `organization ${org.name} still holds ${org.credits} credits; adjust them to 0 first (credits grant ${org.name} -${org.credits} --org)`, "name");
  ctx.db.$client.transaction(() => {
    ctx.db.delete(accounts).where(eq(accounts.id, org.id)).run(); // memberships and keys cascade
    recordAudit(ctx, actor, "org.delete", `org:${org.name}`, {});
  }).immediate();
  authChanged(ctx);
}

export function membershipOf(ctx: AppContext, orgId: number, userId: number): MembershipRow | undefined {
  return ctx.db.select().from(memberships).where(and(eq(memberships.accountId, orgId), eq(memberships.userId, userId))).get();
}

/** The org's members with their user names, owners first. */
export function listMembers(ctx: AppContext, orgId: number): (MembershipRow & { name: string })[] {
  const rows = ctx.db.select().from(memberships).where(eq(memberships.accountId, orgId)).orderBy(asc(memberships.createdAt)).all();
  const order: Record<Role, number> = { owner: 0, admin: 1, member: 2, billing: 3 };
  return rows.map((m) => ({ ...m, name: getUserById(ctx, m.userId)?.name ?? `#${m.userId}` })).sort((a, b) => order[a.role] - order[b.role]);
}

/** The orgs a user belongs to, with their role there. */
export function orgsOfUser(ctx: AppContext, userId: number): { org: AccountRow; membership: MembershipRow }[] {
  return ctx.db.select().from(memberships).where(eq(memberships.userId, userId)).all()
    .map((m) => ({ org: getAccount(ctx, m.accountId)!, membership: m }))
    .filter((x) => x.org && x.org.kind === "org");
}

const owners = (ctx: AppContext, orgId: number) =>
  ctx.db.select({ n: sql<number>`count(*)` }).from(memberships).where(and(eq(memberships.accountId, orgId), eq(memberships.role, "owner"))).get()!.n;

/**
 * Adds a member. `by` is the acting member's role (null: the admin socket, which may do anything): only
 * owners add owners.
 */
export function addMember(ctx: AppContext, org: AccountRow, raw: MemberInput, actor: Actor, by: Role | null): MembershipRow {
  const input = memberInput.parse(raw);
  if (input.role === "owner" && by !== null && by !== "owner") throw roleRefusal("Only an owner can add an owner.");
  const user = getUserByName(ctx, input.user);
  if (membershipOf(ctx, org.id, user.id)) throw new ApiError("conflict", `${user.name} is already a member of ${org.name}; change their role with an update`, "user");
  ctx.db.$client.transaction(() => {
    ctx.db.insert(memberships).values({
      accountId: org.id, userId: user.id, role: input.role, monthlySpend: input.monthlySpend, concurrency: input.concurrency, rpm: input.rpm, tpm: input.tpm,
    }).run();
    recordAudit(ctx, actor, "org.member.add", `org:${org.name}`, { user: user.name, role: input.role });
  }).immediate();
  authChanged(ctx);
  return membershipOf(ctx, org.id, user.id)!;
}

/** Changes a member's role or caps. Admins may not touch owners or make one; the last owner stays an owner. */
export function updateMember(ctx: AppContext, org: AccountRow, userId: number, raw: UpdateMemberInput, actor: Actor, by: Role | null): MembershipRow {
  const input = updateMemberInput.parse(raw);
  const current = membershipOf(ctx, org.id, userId);
  if (!current) throw new ApiError("not_found", `no such member of ${org.name}`, "user");
  if (by !== null && by !== "owner" && (current.role === "owner" || input.role === "owner")) throw roleRefusal("Only an owner can change an owner or make one.");
  if (current.role === "owner" && input.role !== undefined && input.role !== "owner" && owners(ctx, org.id) <= 1) {
    throw new ApiError("conflict", "This is the organization's last owner; make someone else an owner first.", "role");
  }
  ctx.db.$client.transaction(() => {
    if (Object.keys(input).length > 0) ctx.db.update(memberships).set(input).where(and(eq(memberships.accountId, org.id), eq(memberships.userId, userId))).run();
    recordAudit(ctx, actor, "org.member.update", `org:${org.name}`, { userId, changed: Object.keys(input), role: input.role });
  }).immediate();
  authChanged(ctx);
  return membershipOf(ctx, org.id, userId)!;
}

/** Removes a member: their member keys stop from the next request (and running ones end); service keys stay. */
export function removeMember(ctx: AppContext, org: AccountRow, userId: number, actor: Actor, by: Role | null): void {
  const current = membershipOf(ctx, org.id, userId);
  if (!current) throw new ApiError("not_found", `no such member of ${org.name}`, "user");
  if (by !== null && by !== "owner" && current.role === "owner") throw roleRefusal("Only an owner can remove an owner.");
  if (current.role === "owner" && owners(ctx, org.id) <= 1) throw new ApiError("conflict", "This is the organization's last owner; make someone else an owner first.", "user");
  ctx.db.$client.transaction(() => {
    ctx.db.delete(memberships).where(and(eq(memberships.accountId, org.id), eq(memberships.userId, userId))).run();
    recordAudit(ctx, actor, "org.member.remove", `org:${org.name}`, { userId, role: current.role });
  }).immediate();
  authChanged(ctx);
}

/** How many keys of each kind an org has (for listings). */
export function orgKeyCount(ctx: AppContext, orgId: number): number {
  return ctx.db.select({ n: sql<number>`count(*)` }).from(apiKeys).where(eq(apiKeys.accountId, orgId)).get()!.n;
}

const roleRefusal = (message: string) => new ApiError("insufficient_scope", message);
