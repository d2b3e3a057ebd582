import type { FieldSpec } from "../state/form";
import type { MemberRow, OrgRow, Role } from "../types";
import { num } from "../format";

/** The roles, the default one first (what `a` offers before ←/→). */
export const ROLES = ["member", "admin", "owner", "billing"] as const satisfies readonly Role[];

const ROLE_HELP: Record<Role, string> = {
  owner: "everything: owners, billing settings, deleting the org",
  admin: "inference, all keys, usage, members (not owners)",
  member: "inference and their own keys",
  billing: "usage and billing, read only",
};

/** A member's caps in the org; blank means none of their own (the org's limits still apply). */
const capFields: FieldSpec[] = [
  { name: "monthlySpend", label: "Monthly spend", kind: "int", help: "credits per UTC month; blank = no cap" },
  { name: "concurrency", label: "Concurrency", kind: "int", help: "requests in flight at once; blank = the org's" },
  { name: "rpm", label: "Requests/min", kind: "int", help: "blank = no cap of their own" },
  { name: "tpm", label: "Tokens/min", kind: "int", help: "blank = no cap of their own" },
];
const roleField: FieldSpec = { name: "role", label: "Role", kind: "choice", choices: ROLES, help: (v) => `${ROLE_HELP[v.role as Role] ?? ""} (←/→)` };

export const createOrgFields: FieldSpec[] = [
  { name: "name", label: "Name", kind: "text", required: true, help: "letters, digits, _ . @ -" },
  { name: "owner", label: "Owner", kind: "text", help: "a user name; blank = no owner yet" },
  { name: "credits", label: "Initial credits", kind: "int", help: "default 0" },
  { name: "concurrency", label: "Concurrency", kind: "int", help: "requests in flight at once, all members together (default 10)" },
];

export const addMemberFields: FieldSpec[] = [{ name: "user", label: "User", kind: "text", required: true, help: "an existing user's name" }, roleField, ...capFields];

export const editMemberFields: FieldSpec[] = [roleField, ...capFields];

export const grantFields: FieldSpec[] = [
  { name: "amount", label: "Credits", kind: "int", required: true, help: "negative to take back" },
  { name: "note", label: "Note", kind: "text" },
];

/** A picker's lines for the members, owners first as the server lists them: name and role. */
export const memberOptions = (o: OrgRow) => ({ options: o.members.map((m) => `${m.name} (${m.role})`), values: o.members.map((m) => m.name) });

/** The key picker: the service key, then each member's key. Values: "service", or "member:NAME". */
export const keyOptions = (o: OrgRow) => ({
  options: ["service key (no user behind it)", ...o.members.map((m) => `member key of ${m.name} (${m.role})`)],
  values: ["service", ...o.members.map((m) => `member:${m.name}`)],
});

/** What a confirmation about one member carries: `org/user` (names cannot contain `/`). */
export const memberTarget = (org: string, user: string) => `${org}/${user}`;
export const splitMemberTarget = (t: string | number) => {
  const [org = "", user = ""] = String(t).split("/");
  return { org, user };
};

const cap = (n: number | null) => (n === null ? "-" : num(n));
export const memberCaps = (m: MemberRow) => ({ spend: cap(m.monthlySpend), concurrency: cap(m.concurrency), rpm: cap(m.rpm), tpm: cap(m.tpm) });
