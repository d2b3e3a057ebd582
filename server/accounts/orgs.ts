import type { AccountRow, MembershipRow, Role, UserRow } from "../../db/schema";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { actorName, type Actor } from "../audit/audit";
import { applyLedgerEntry } from "../billing/ledger";
import { authChanged } from "../auth/revocation";
import { StoreConflict, type Member } from "../stores/types";
import { getAccount } from "./store";
import { createOrgInput, memberInput, updateMemberInput, updateOrgInput, type CreateOrgInput, type MemberInput, type UpdateMemberInput, type UpdateOrgInput } from "./model";
import { getUserByName } from "../users/service";

/**
 * Organizations: accounts with members. Every write goes through authChanged, so a removed member's keys,
 * a demotion or a suspension reach the next request and the requests already running. The rules that must
 * hold under concurrency (a free name, the last owner, no credits left at deletion) are the store's, inside
 * its transaction; the role rules are here.
 */
export async function createOrg(ctx: AppContext, raw: CreateOrgInput, actor: Actor, owner?: UserRow): Promise<AccountRow> {
  const input = createOrgInput.parse(raw);
  let org: AccountRow;
  try {
    org = await ctx.stores.accounts.createOrg({
      kind: "org", name: input.name, concurrency: input.concurrency, monthlyTokens: input.monthlyTokens, rpm: input.rpm, tpm: input.tpm,
      models: input.models, keyReveal: input.keyReveal,
    }, owner?.id ?? null, { actor, action: "org.create", target: `org:${input.name}`, detail: { owner: owner?.name ?? null, concurrency: input.concurrency } });
  } catch (err) {
    throw orgNameTaken(err, input.name);
  }
  if (input.credits > 0) await applyLedgerEntry(ctx, { accountId: org.id, kind: "grant", amount: input.credits, ref: `grant:init:org:${org.id}`, actor: actorName(actor), note: "initial credits" });
  await authChanged(ctx);
  return (await getAccount(ctx, org.id))!;
}

export async function updateOrg(ctx: AppContext, org: AccountRow, raw: UpdateOrgInput, actor: Actor): Promise<AccountRow> {
  const input = updateOrgInput.parse(raw);
  let updated: AccountRow;
  try {
    updated = await ctx.stores.accounts.update(org.id, input, {
      actor, action: input.suspended === true ? "org.suspend" : input.suspended === false ? "org.resume" : "org.update", target: `org:${org.name}`, detail: { changed: Object.keys(input) },
    });
  } catch (err) {
    throw orgNameTaken(err, input.name ?? org.name);
  }
  await authChanged(ctx);
  return updated;
}

/** Deletes an org with its memberships and keys; refused while it holds credits (grant them away first). */
export async function deleteOrg(ctx: AppContext, org: AccountRow, actor: Actor): Promise<void> {
  const holds = () => new ApiError("conflict", `organization ${org.name} still holds ${org.credits} credits; adjust them to 0 first (credits grant ${org.name} -${org.credits} --org)`, "name");
  if (org.credits > 0) throw holds();
  try {
    await ctx.stores.accounts.deleteOrg(org.id, { actor, action: "org.delete", target: `org:${org.name}` });
  } catch (err) {
    if (err instanceof StoreConflict && err.kind === "HoldsCredits") throw holds();
    throw err;
  }
  await authChanged(ctx);
}

export function membershipOf(ctx: AppContext, orgId: number, userId: number): Promise<MembershipRow | undefined> {
  return ctx.stores.accounts.membership(orgId, userId);
}

/** The org's members with their user names, owners first. */
export async function listMembers(ctx: AppContext, orgId: number): Promise<Member[]> {
  const order: Record<Role, number> = { owner: 0, admin: 1, member: 2, billing: 3 };
  return (await ctx.stores.accounts.members(orgId)).sort((a, b) => order[a.role] - order[b.role]);
}

/** The orgs a user belongs to, with their role there. */
export function orgsOfUser(ctx: AppContext, userId: number): Promise<{ org: AccountRow; membership: MembershipRow }[]> {
  return ctx.stores.accounts.membershipsOf(userId);
}

/**
 * Adds a member. `by` is the acting member's role (null: the admin socket, which may do anything): only
 * owners add owners.
 */
export async function addMember(ctx: AppContext, org: AccountRow, raw: MemberInput, actor: Actor, by: Role | null): Promise<MembershipRow> {
  const input = memberInput.parse(raw);
  if (input.role === "owner" && by !== null && by !== "owner") throw roleRefusal("Only an owner can add an owner.");
  const user = await getUserByName(ctx, input.user);
  let m: MembershipRow;
  try {
    m = await ctx.stores.accounts.addMember({
      accountId: org.id, userId: user.id, role: input.role, monthlySpend: input.monthlySpend, concurrency: input.concurrency, rpm: input.rpm, tpm: input.tpm,
    }, { actor, action: "org.member.add", target: `org:${org.name}`, detail: { user: user.name, role: input.role } });
  } catch (err) {
    if (err instanceof StoreConflict && err.kind === "AlreadyMember") throw new ApiError("conflict", `${user.name} is already a member of ${org.name}; change their role with an update`, "user");
    throw err;
  }
  await authChanged(ctx);
  return m;
}

/** Changes a member's role or caps. Admins may not touch owners or make one; the last owner stays an owner. */
export async function updateMember(ctx: AppContext, org: AccountRow, userId: number, raw: UpdateMemberInput, actor: Actor, by: Role | null): Promise<MembershipRow> {
  const input = updateMemberInput.parse(raw);
  const current = await membershipOf(ctx, org.id, userId);
  if (!current) throw noMember(org);
  if (by !== null && by !== "owner" && (current.role === "owner" || input.role === "owner")) throw roleRefusal("Only an owner can change an owner or make one.");
  let m: MembershipRow | undefined;
  try {
    m = await ctx.stores.accounts.updateMember(org.id, userId, input, { actor, action: "org.member.update", target: `org:${org.name}`, detail: { userId, changed: Object.keys(input), role: input.role } });
  } catch (err) {
    throw lastOwner(err, "role");
  }
  if (!m) throw noMember(org);
  await authChanged(ctx);
  return m;
}

/** Removes a member: their member keys stop from the next request (and running ones end); service keys stay. */
export async function removeMember(ctx: AppContext, org: AccountRow, userId: number, actor: Actor, by: Role | null): Promise<void> {
  const current = await membershipOf(ctx, org.id, userId);
  if (!current) throw noMember(org);
  if (by !== null && by !== "owner" && current.role === "owner") throw roleRefusal("Only an owner can remove an owner.");
  let removed: boolean;
  try {
    removed = await ctx.stores.accounts.removeMember(org.id, userId, { actor, action: "org.member.remove", target: `org:${org.name}`, detail: { userId, role: current.role } });
  } catch (err) {
    throw lastOwner(err, "user");
  }
  if (!removed) throw noMember(org);
  await authChanged(ctx);
}

/** How many keys an org has (for listings). */
export function orgKeyCount(ctx: AppContext, orgId: number): Promise<number> {
  return ctx.stores.accounts.keyCount(orgId);
}

const roleRefusal = (message: string) => new ApiError("insufficient_scope", message);
const noMember = (org: AccountRow) => new ApiError("not_found", `no such member of ${org.name}`, "user");

function lastOwner(err: unknown, param: string): unknown {
  if (err instanceof StoreConflict && err.kind === "LastOwner") return new ApiError("conflict", "This is the organization's last owner; make someone else an owner first.", param);
  return err;
}

function orgNameTaken(err: unknown, name: string): unknown {
  if (err instanceof StoreConflict && err.kind === "NameTaken") return new ApiError("conflict", `an organization named ${name} already exists`, "name");
  return err;
}

