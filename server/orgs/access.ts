import type { AccountRow, Role } from "../../db/schema";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import type { Principal } from "../auth/authenticate";
import { intersect, type Scope } from "../auth/scopes";
import { ROLE_SCOPES, roleMay, type OrgAction } from "../accounts/roles";
import { getAccount } from "../accounts/store";
import { membershipOf } from "../accounts/orgs";

/**
 * What a caller may do in one org: its role there (`service` for the org's own service key), the scopes
 * that apply (the caller's, narrowed by the role), and the user acting (null for a service key).
 */
export type OrgAccess = { org: AccountRow; role: Role | "service"; scopes: ReadonlySet<Scope>; userId: number | null };

const forbidden = () => new ApiError("org_forbidden", "You are not a member of this organization (or this key belongs to another one).");

/**
 * The caller's access to org `rawId`: its own org key, or a member's session or personal key. Another
 * org's key, a non-member and an unknown org all get the same 403 `org_forbidden`, never the org's data.
 */
export async function orgAccess(ctx: AppContext, p: Principal, rawId: string | undefined): Promise<OrgAccess> {
  const id = /^[1-9][0-9]{0,15}$/.test(rawId ?? "") ? Number(rawId) : NaN;
  const org = Number.isSafeInteger(id) ? await getAccount(ctx, id) : undefined;
  if (!org || org.kind !== "org") throw forbidden();
  if (p.account.kind === "org") {
    if (p.accountId !== org.id) throw forbidden();
    if (p.entry?.key.kind === "service") return { org, role: "service", scopes: p.scopes, userId: null };
    const m = p.membership;
    if (!m) throw forbidden();
    return { org, role: m.role, scopes: p.scopes, userId: m.userId }; // a member key's scopes are already narrowed
  }
  if (p.userId === null) throw forbidden();
  const m = await membershipOf(ctx, org.id, p.userId);
  if (!m) throw forbidden();
  return { org, role: m.role, scopes: intersect(p.scopes, ROLE_SCOPES[m.role]), userId: p.userId };
}

/** A scope the caller's role and key must both hold: 403 `insufficient_scope` otherwise. */
export function requireOrgScope(a: OrgAccess, scope: Scope): void {
  if (!a.scopes.has(scope)) {
    throw new ApiError("insufficient_scope", `This needs the '${scope}' scope in the organization; your ${a.role === "service" ? "service key" : `role (${a.role}) or key`} lacks it.`);
  }
}

/** An action only some roles may take (owners for owners and billing, owners and admins for service keys). */
export function requireOrgRole(a: OrgAccess, action: OrgAction): void {
  // A service key acts as the org, with an admin's powers at most: it cannot manage owners or billing.
  const role: Role = a.role === "service" ? "admin" : a.role;
  if (!roleMay(role, action)) throw new ApiError("insufficient_scope", `Your role (${a.role}) may not ${describe[action]}.`);
}

const describe: Record<OrgAction, string> = {
  "manage-owners": "manage owners",
  "billing-settings": "change billing settings",
  "delete-org": "delete the organization",
  "manage-members": "manage members",
  "service-keys": "create service keys",
  "all-keys": "manage other members' keys",
  webhooks: "manage the organization's webhooks",
};

/** The role the member rules see for the actor (a service key counts as an admin). */
export function actingRole(a: OrgAccess): Role {
  return a.role === "service" ? "admin" : a.role;
}
