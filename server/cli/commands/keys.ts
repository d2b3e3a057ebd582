import { UsageError } from "../args";
import type { Command } from "../command";
import type { FlagSpec } from "../args";
import { fields, table } from "../table";

const keyColumns = ["id", "userId", "prefix", "label", "enabled", "group", "scopes", "spent", "spendLimit", "expiresAt", "lastUsedAt"];
const idArg = [{ name: "ID", help: "key id" }];

const limitFlags: FlagSpec[] = [
  { name: "label", type: "string", help: "free text" },
  { name: "group", type: "string", help: "official, special or either (default either)" },
  { name: "allow-ip", type: "repeat", help: "CIDR allowed to use the key; repeat for more (default anywhere)" },
  { name: "expires", type: "string", help: "ISO 8601 expiry" },
  { name: "models", type: "list", help: "comma-separated model allow-list (default all)" },
  { name: "spend-limit", type: "int", help: "most credits this key may spend" },
  { name: "scopes", type: "list", help: "inference,keys:read,keys:write,usage:read or full (default full)" },
];

export const keyCommands: Command[] = [
  {
    group: "key", verb: "create", summary: "Create an API key; prints the key once",
    flags: [{ name: "user", type: "string", help: "owner's user name", required: true }, ...limitFlags.map((f) => f.name === "label" ? { ...f, required: true } : f)],
    run: (c, { flags: f }) => c.keys.create({
      user: f.user, label: f.label, group: f.group, allowIps: f["allow-ip"], expiresAt: f.expires,
      models: f.models, spendLimit: f["spend-limit"], scopes: f.scopes,
    }),
    format: (k) => `${fields(k)}\n(store it now: it is shown once; admins can reveal it again with \`relay admin key reveal ${k.id}\`)`,
  },
  {
    group: "key", verb: "list", summary: "List keys (public prefixes only)",
    flags: [{ name: "user", type: "string", help: "only this user's keys" }],
    run: (c, { flags: f }) => c.keys.list(f.user as string | undefined).then((r) => r.data),
    format: (rows) => table(rows, keyColumns),
  },
  {
    group: "key", verb: "show", summary: "Show one key", args: idArg,
    run: (c, { positionals: [id] }) => c.keys.get(id!),
    format: (k) => fields(k),
  },
  {
    group: "key", verb: "update", summary: "Change a key's label or limits", args: idArg,
    flags: limitFlags.map((f) => f.name === "expires" ? { ...f, help: "ISO 8601 expiry, or 'never'" } : f),
    run: (c, { positionals: [id], flags: f }) => c.keys.update(id!, {
      label: f.label, group: f.group, allowIps: f["allow-ip"],
      expiresAt: f.expires === "never" ? null : f.expires, models: f.models, spendLimit: f["spend-limit"], scopes: f.scopes,
    }),
    format: (k) => fields(k),
  },
  {
    group: "key", verb: "reveal", summary: "Decrypt and print a key (audited)", args: idArg,
    run: (c, { positionals: [id] }) => c.keys.reveal(id!),
    format: (r) => r.key,
  },
  {
    group: "key", verb: "disable", summary: "Disable a key (effective on the next request)", args: idArg,
    run: (c, { positionals: [id] }) => c.keys.update(id!, { enabled: false }),
    format: (k) => `key ${k.id} (${k.prefix}) disabled`,
  },
  {
    group: "key", verb: "enable", summary: "Enable a key", args: idArg,
    run: (c, { positionals: [id] }) => c.keys.update(id!, { enabled: true }),
    format: (k) => `key ${k.id} (${k.prefix}) enabled`,
  },
  {
    group: "key", verb: "delete", summary: "Delete a key, or with --user NAME --all every key of a user (effective on the next request; running requests end)",
    args: [{ name: "ID", help: "key id (leave out with --user NAME --all)", optional: true }],
    flags: [
      { name: "user", type: "string", help: "with --all: the user whose keys are all deleted" },
      { name: "all", type: "bool", help: "delete every key of --user (account recovery)" },
    ],
    run: (c, { positionals: [id], flags: f }) => {
      if (f.all || f.user !== undefined) {
        if (id !== undefined) throw new UsageError("give either a key ID or --user NAME --all, not both");
        if (!f.all || f.user === undefined) throw new UsageError("deleting every key of a user needs both --user NAME and --all");
        return c.keys.deleteAll(f.user as string);
      }
      if (id === undefined) throw new UsageError("missing argument: the key ID (or --user NAME --all)");
      return c.keys.delete(id);
    },
    format: (r) => (r.ids ? `${r.deleted} key(s) of ${r.user} deleted${r.deleted ? `: ${r.ids.join(", ")}` : ""}` : `key ${r.id} deleted`),
  },
];
