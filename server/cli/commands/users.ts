import type { Command } from "../command";
import { fields, table } from "../table";
import { readPassword } from "../password";

const userColumns = ["id", "name", "role", "enabled", "concurrency", "inFlight", "balance", "heldCredits", "monthlyTokens", "tokensThisMonth"];

export const userCommands: Command[] = [
  {
    group: "user", verb: "create", summary: "Create a user",
    flags: [
      { name: "name", type: "string", help: "unique user name", required: true },
      { name: "role", type: "string", help: "admin or user (default user)" },
      { name: "concurrency", type: "int", help: "in-flight request cap, at least 1 (default 3)" },
      { name: "monthly-tokens", type: "int", help: "tokens per UTC month; 0 means unlimited (default 0)" },
      { name: "credits", type: "int", help: "initial credit grant (default 0)" },
      { name: "rpm", type: "int", nullable: true, help: "requests per minute for the user's own account; 'none' removes it" },
      { name: "tpm", type: "int", nullable: true, help: "input + output tokens per minute for the user's own account; 'none' removes it" },
    ],
    run: (c, { flags: f }) => c.users.create({
      name: f.name, role: f.role, concurrency: f.concurrency, monthlyTokens: f["monthly-tokens"], credits: f.credits, rpm: f.rpm, tpm: f.tpm,
    }),
    format: (u) => fields(u),
  },
  {
    group: "user", verb: "list", summary: "List users with balances, holds, in-flight requests and tokens this month",
    run: (c) => c.users.list().then((r) => r.data),
    format: (rows) => table(rows, userColumns),
  },
  {
    group: "user", verb: "show", summary: "Show one user", args: [{ name: "NAME", help: "user name" }],
    run: (c, { positionals: [name] }) => c.users.get(name!),
    format: (u) => fields(u),
  },
  {
    group: "user", verb: "update", summary: "Change a user's limits, role, state or password", args: [{ name: "NAME", help: "user name" }],
    flags: [
      { name: "concurrency", type: "int", help: "in-flight request cap, at least 1" },
      { name: "monthly-tokens", type: "int", help: "tokens per UTC month; 0 means unlimited" },
      { name: "role", type: "string", help: "admin or user" },
      { name: "rpm", type: "int", nullable: true, help: "requests per minute for the user's own account; 'none' removes it" },
      { name: "tpm", type: "int", nullable: true, help: "tokens per minute for the user's own account; 'none' removes it" },
      { name: "password", type: "bool", help: "set the login password, read from stdin or a prompt (never from the command line)" },
    ],
    run: async (c, { positionals: [name], flags: f }) => c.users.update(name!, {
      concurrency: f.concurrency, monthlyTokens: f["monthly-tokens"], role: f.role, rpm: f.rpm, tpm: f.tpm,
      password: f.password ? await readPassword() : undefined,
    }),
    format: (u) => fields(u),
  },
  {
    group: "user", verb: "disable", summary: "Disable a user (all their keys stop at once)", args: [{ name: "NAME", help: "user name" }],
    run: (c, { positionals: [name] }) => c.users.update(name!, { enabled: false }),
    format: (u) => `user ${u.name} disabled`,
  },
  {
    group: "user", verb: "enable", summary: "Enable a user", args: [{ name: "NAME", help: "user name" }],
    run: (c, { positionals: [name] }) => c.users.update(name!, { enabled: true }),
    format: (u) => `user ${u.name} enabled`,
  },
];
