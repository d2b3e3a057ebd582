import type { Command } from "../command";
import type { FlagSpec } from "../args";
import { fields, table } from "../table";

const nameArg = [{ name: "NAME", help: "organization name" }];
const limits: FlagSpec[] = [
  { name: "concurrency", type: "int", help: "requests in flight across the org's keys, at least 1 (default 10)" },
  { name: "monthly-tokens", type: "int", help: "tokens per UTC month; 0 means unlimited (default 0)" },
  { name: "rpm", type: "int", nullable: true, help: "requests per minute across the org; 'none' removes it" },
  { name: "tpm", type: "int", nullable: true, help: "input + output tokens per minute across the org; 'none' removes it" },
  { name: "models", type: "list", help: "comma-separated models the org may use (default all)" },
  { name: "key-reveal", type: "string", help: "always or never: whether the org's keys can be revealed later (default: RELAY_KEY_REVEAL)" },
];
const memberCaps: FlagSpec[] = [
  { name: "monthly-spend", type: "int", nullable: true, help: "credits the member's keys may spend per UTC month; 'none' removes it" },
  { name: "concurrency", type: "int", nullable: true, help: "the member's requests in flight in the org (default: only the org's cap); 'none' removes it" },
  { name: "rpm", type: "int", nullable: true, help: "the member's requests per minute in the org; 'none' removes it" },
  { name: "tpm", type: "int", nullable: true, help: "the member's tokens per minute in the org; 'none' removes it" },
];

const orgBody = (f: Record<string, unknown>) => ({
  concurrency: f.concurrency, monthlyTokens: f["monthly-tokens"], rpm: f.rpm, tpm: f.tpm, models: f.models, keyReveal: f["key-reveal"],
});
const caps = (f: Record<string, unknown>) => ({ monthlySpend: f["monthly-spend"], concurrency: f.concurrency, rpm: f.rpm, tpm: f.tpm });
const orgText = (o: any) => `${fields(Object.fromEntries(Object.entries(o).filter(([k]) => k !== "members")))}\nmembers:\n${table(o.members, ["name", "role", "monthlySpend", "concurrency", "rpm", "tpm"])}`;

export const orgCommands: Command[] = [
  {
    group: "org", verb: "create", summary: "Create an organization (an account with members and a shared balance)",
    flags: [{ name: "name", type: "string", help: "unique organization name", required: true }, { name: "credits", type: "int", help: "initial credit grant (default 0)" },
      { name: "owner", type: "string", help: "a user to make its first owner" }, ...limits],
    run: (c, { flags: f }) => c.orgs.create({ name: f.name, credits: f.credits, owner: f.owner, ...orgBody(f) }),
    format: orgText,
  },
  {
    group: "org", verb: "list", summary: "List organizations with balances, holds and requests in flight",
    run: (c) => c.orgs.list().then((r) => r.data.map((o) => ({ ...o, members: o.members.length }))),
    format: (rows) => table(rows, ["id", "name", "suspended", "balance", "heldCredits", "inFlight", "concurrency", "monthlyTokens", "rpm", "tpm", "members", "keys"]),
  },
  { group: "org", verb: "show", summary: "Show an organization and its members", args: nameArg, run: (c, { positionals: [n] }) => c.orgs.get(n!), format: orgText },
  {
    group: "org", verb: "update", summary: "Change an organization's name, limits or key reveal setting", args: nameArg,
    flags: [{ name: "name", type: "string", help: "new name" }, ...limits],
    run: (c, { positionals: [n], flags: f }) => c.orgs.update(n!, { name: f.name, ...orgBody(f) }),
    format: orgText,
  },
  {
    group: "org", verb: "suspend", summary: "Suspend an organization: its keys get 403 org_suspended at once (running requests end)", args: nameArg,
    run: (c, { positionals: [n] }) => c.orgs.update(n!, { suspended: true }), format: (o) => `organization ${o.name} suspended`,
  },
  {
    group: "org", verb: "resume", summary: "Resume a suspended organization", args: nameArg,
    run: (c, { positionals: [n] }) => c.orgs.update(n!, { suspended: false }), format: (o) => `organization ${o.name} resumed`,
  },
  {
    group: "org", verb: "delete", summary: "Delete an organization with its members and keys (it must hold no credits)", args: nameArg,
    run: (c, { positionals: [n] }) => c.orgs.delete(n!), format: (r) => `organization ${r.name} deleted`,
  },
  {
    group: "org member", verb: "add", summary: "Add a user to an organization with a role",
    args: [{ name: "ORG", help: "organization name" }, { name: "USER", help: "user name" }],
    flags: [{ name: "role", type: "string", help: "owner, admin, member or billing", required: true }, ...memberCaps],
    run: (c, { positionals: [o, u], flags: f }) => c.orgs.addMember(o!, { user: u, role: f.role, ...caps(f) }),
    format: orgText,
  },
  {
    group: "org member", verb: "update", summary: "Change a member's role or caps (the last owner stays an owner)",
    args: [{ name: "ORG", help: "organization name" }, { name: "USER", help: "user name" }],
    flags: [{ name: "role", type: "string", help: "owner, admin, member or billing" }, ...memberCaps],
    run: (c, { positionals: [o, u], flags: f }) => c.orgs.updateMember(o!, u!, { role: f.role, ...caps(f) }),
    format: orgText,
  },
  {
    group: "org member", verb: "remove", summary: "Remove a member: their member keys stop from the next request; service keys stay",
    args: [{ name: "ORG", help: "organization name" }, { name: "USER", help: "user name" }],
    run: (c, { positionals: [o, u] }) => c.orgs.removeMember(o!, u!),
    format: orgText,
  },
];
