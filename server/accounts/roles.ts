import type { Role } from "../../db/schema";
import type { Scope } from "../auth/scopes";

/**
 * What each role in an organization may do, as scopes: a member key's scopes are its own narrowed by its
 * creator's current role, so demoting a member narrows their keys from the next request. The rules that
 * scopes cannot say (who may manage owners, delete the org) are in `roleMay`.
 */
export const ROLE_SCOPES: Record<Role, ReadonlySet<Scope>> = {
  owner: new Set(["inference", "keys:read", "keys:write", "usage:read", "billing:read", "members:read", "members:write"]),
  admin: new Set(["inference", "keys:read", "keys:write", "usage:read", "billing:read", "members:read", "members:write"]),
  member: new Set(["inference", "keys:read", "keys:write"]),
  billing: new Set(["usage:read", "billing:read"]),
};

/** Actions beyond scopes. */
export type OrgAction = "manage-owners" | "billing-settings" | "delete-org" | "manage-members" | "service-keys" | "all-keys" | "webhooks";

const MAY: Record<Role, ReadonlySet<OrgAction>> = {
  owner: new Set(["manage-owners", "billing-settings", "delete-org", "manage-members", "service-keys", "all-keys", "webhooks"]),
  admin: new Set(["manage-members", "service-keys", "all-keys", "webhooks"]),
  member: new Set(),
  billing: new Set(),
};

export function roleMay(role: Role, action: OrgAction): boolean {
  return MAY[role].has(action);
}
