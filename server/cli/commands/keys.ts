import { UsageError } from "../args";
import type { Command } from "../command";
import type { FlagSpec } from "../args";
import { fields, table } from "../table";
import { DEFAULT_OVERLAP, parseOverlap } from "../../keys/overlap";

const keyColumns = ["id", "accountId", "kind", "userId", "prefix", "label", "enabled", "status", "group", "scopes", "spent", "spendLimit", "rpm", "tpm", "expiresAt", "lastUsedAt"];
const idArg = [{ name: "ID", help: "key id" }];

const limitFlags: FlagSpec[] = [
  { name: "label", type: "string", help: "free text" },
  { name: "group", type: "string", help: "official, special or either (default either)" },
  { name: "allow-ip", type: "repeat", help: "CIDR allowed to use the key; repeat for more (default anywhere)" },
  { name: "expires", type: "string", help: "ISO 8601 expiry" },
  { name: "models", type: "list", help: "comma-separated model allow-list (default all)" },
  { name: "spend-limit", type: "int", nullable: true, help: "most credits this key may spend; 'none' removes it" },
  { name: "rpm", type: "int", nullable: true, help: "requests per minute through this key; 'none' removes it" },
  { name: "tpm", type: "int", nullable: true, help: "input + output tokens per minute through this key; 'none' removes it" },
  { name: "scopes", type: "list", help: "full, inference, keys:read, keys:write, usage:read, billing:read, members:read, members:write, or RELAY_SCOPE_ALIASES names (default full)" },
];

/** Whose key: --user NAME (personal), or --org ORG with --service or --member USER. */
const ownerFlags: FlagSpec[] = [
  { name: "user", type: "string", help: "a user's personal key: the user's name" },
  { name: "org", type: "string", help: "an organization's key (with --service or --member)" },
  { name: "service", type: "bool", help: "with --org: a service key, acting as the org itself (survives membership changes)" },
  { name: "member", type: "string", help: "with --org: a member key acting as this member, bounded by their role" },
];

function owner(f: Record<string, unknown>) {
  if (f.org === undefined) {
    if (f.user === undefined) throw new UsageError("say whose key: --user NAME, or --org ORG with --service or --member USER");
    if (f.service || f.member !== undefined) throw new UsageError("--service and --member go with --org");
    return { user: f.user };
  }
  if (f.user !== undefined) throw new UsageError("give --user or --org, not both");
  if (!!f.service === (f.member !== undefined)) throw new UsageError("an org key needs exactly one of --service or --member USER");
  return f.service ? { org: f.org, service: true } : { org: f.org, member: f.member };
}

const keyBody = (f: Record<string, unknown>) => ({
  label: f.label, group: f.group, allowIps: f["allow-ip"], expiresAt: f.expires, models: f.models, spendLimit: f["spend-limit"],
  rpm: f.rpm, tpm: f.tpm, scopes: f.scopes,
});

export const keyCommands: Command[] = [
  {
    group: "key", verb: "create", summary: "Create an API key (a user's, or an org's service or member key); prints the key once",
    flags: [...ownerFlags, ...limitFlags.map((f) => f.name === "label" ? { ...f, required: true } : f)],
    run: (c, { flags: f }) => c.keys.create({ ...owner(f), ...keyBody(f) }),
    format: (k) => `${fields(k)}\n${k.revealable
      ? `(store it now: it is shown once; admins can reveal it again with \`relay admin key reveal ${k.id}\`)`
      : "(store it now: it is shown once and cannot be revealed again, as keys here are write-once)"}`,
  },
  {
    group: "key", verb: "import", summary: "Bring over a key from another gateway, by its plaintext or its SHA-256, so its clients need no change",
    flags: [
      ...ownerFlags,
      { name: "key", type: "string", help: "the key's plaintext (stored encrypted unless keys are write-once)" },
      { name: "sha256", type: "string", help: "the key's hex SHA-256 instead (such a key cannot be revealed)" },
      ...limitFlags.map((f) => f.name === "label" ? { ...f, required: true } : f),
    ],
    run: (c, { flags: f }) => {
      if ((f.key === undefined) === (f.sha256 === undefined)) throw new UsageError("give exactly one of --key PLAINTEXT or --sha256 HEX");
      return c.keys.import({ ...owner(f), key: f.key, sha256: f.sha256, ...keyBody(f) });
    },
    format: (k) => `key ${k.id} imported (${k.prefix}); its existing clients can use it now`,
  },
  {
    group: "key", verb: "list", summary: "List keys (public prefixes only)",
    flags: [{ name: "user", type: "string", help: "only keys this user is behind (personal and member keys)" }, { name: "org", type: "string", help: "only this organization's keys" }],
    run: (c, { flags: f }) => c.keys.list(f.user as string | undefined, f.org as string | undefined).then((r) => r.data),
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
    run: (c, { positionals: [id], flags: f }) => c.keys.update(id!, { ...keyBody(f), expiresAt: f.expires === "never" ? null : f.expires }),
    format: (k) => fields(k),
  },
  {
    group: "key", verb: "rotate", summary: "Replace a key with a new one of the same settings; the old one keeps working for the overlap, then expires. Prints the new key once", args: idArg,
    flags: [{ name: "overlap", type: "string", help: `how long the old key keeps working: 0 (stops now), 90s, 30m, 24h, 2d, 1h30m; at most 30d (default ${DEFAULT_OVERLAP})` }],
    run: (c, { positionals: [id], flags: f }) => {
      // Checked here too, so a typo is a usage error (exit 2) before anything is sent.
      const overlap = f.overlap as string | undefined;
      const parsed = overlap === undefined ? null : parseOverlap(overlap);
      if (parsed && "error" in parsed) throw new UsageError(`--${parsed.error}`);
      return c.keys.rotate(id!, overlap === undefined ? {} : { overlap });
    },
    format: ({ rotatedFrom: from, ...k }) => `${fields(k)}\nkey ${from.id} keeps working until ${from.expiresAt}, then is refused as expired\n${k.revealable
      ? `(store it now: it is shown once; admins can reveal it again with \`relay admin key reveal ${k.id}\`)`
      : "(store it now: it is shown once and cannot be revealed again, as keys here are write-once)"}`,
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
