import type { Command } from "../command";
import type { FlagSpec, Parsed } from "../args";
import { UsageError } from "../args";
import { fields, table } from "../table";

const idArg = [{ name: "ID", help: "channel id" }];

const channelFlags: FlagSpec[] = [
  { name: "name", type: "string", help: "unique channel name" },
  { name: "type", type: "string", help: "openai (any OpenAI-compatible API), anthropic (Messages API) or azure (Azure OpenAI deployments); default openai" },
  { name: "api-version", type: "string", help: "Azure's api-version, e.g. 2024-10-21 (required for --type azure)" },
  { name: "group", type: "string", help: "channel group: official, special or any name (default official)" },
  { name: "base-url", type: "string", help: "upstream base URL as the provider's SDK takes it: https://api.openai.com/v1, https://api.anthropic.com, https://NAME.openai.azure.com" },
  { name: "api-key", type: "string", help: "upstream API key (stored encrypted)" },
  { name: "models", type: "list", help: "comma-separated models this channel serves" },
  { name: "priority", type: "int", help: "higher tiers are tried first (default 0)" },
  { name: "weight", type: "int", help: "share of traffic within a tier (default 1)" },
  { name: "map", type: "repeat", help: "alias=upstream-model (for azure: model=deployment); repeat for more" },
  { name: "header", type: "repeat", help: "Name=value extra upstream header; repeat for more" },
  { name: "first-byte-timeout-ms", type: "int", help: "override RELAY_FIRST_BYTE_TIMEOUT_MS" },
  { name: "idle-timeout-ms", type: "int", help: "override RELAY_STREAM_IDLE_TIMEOUT_MS" },
];

function pairs(list: unknown, flag: string): Record<string, string> | undefined {
  if (list === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const item of list as string[]) {
    const i = item.indexOf("=");
    if (i <= 0 || i === item.length - 1) throw new UsageError(`--${flag} takes name=value, not '${item}'`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

function body({ flags: f }: Parsed) {
  return {
    name: f.name, type: f.type, apiVersion: f["api-version"], group: f.group, baseUrl: f["base-url"], apiKey: f["api-key"], models: f.models, priority: f.priority,
    weight: f.weight, modelMap: pairs(f.map, "map"), headers: pairs(f.header, "header"),
    firstByteTimeoutMs: f["first-byte-timeout-ms"], idleTimeoutMs: f["idle-timeout-ms"],
  };
}

const row = (c: any) => ({ ...c, health: c.health?.state, failures: c.health?.consecutiveFailures, lastError: c.health?.lastError });

export const channelCommands: Command[] = [
  {
    group: "channel", verb: "create", summary: "Add an upstream channel",
    flags: channelFlags.map((f) => ["name", "base-url", "api-key", "models"].includes(f.name) ? { ...f, required: true } : f),
    run: (c, a) => c.channels.create(body(a)),
    format: (ch) => fields(row(ch)),
  },
  {
    group: "channel", verb: "list", summary: "List channels with their health (closed = healthy, open = cooling down)",
    // --json prints the rows as before; the human view also says whose breakers it shows.
    run: (c) => c.channels.list().then((r) => Object.defineProperty(r.data, "view", { value: (r as { view?: string }).view, enumerable: false })),
    // The health columns are one instance's breakers: say whose, so a cluster operator is not misled.
    format: (rows) => `health as seen by ${(rows as { view?: string }).view ?? "this relay"}\n` +
      table(rows.map(row), ["id", "name", "type", "group", "baseUrl", "models", "priority", "weight", "enabled", "health", "failures", "lastError"]),
  },
  {
    group: "channel", verb: "show", summary: "Show one channel", args: idArg,
    run: (c, { positionals: [id] }) => c.channels.get(id!),
    format: (ch) => fields(row(ch)),
  },
  {
    group: "channel", verb: "update", summary: "Change a channel", args: idArg, flags: channelFlags,
    run: (c, a) => c.channels.update(a.positionals[0]!, body(a)),
    format: (ch) => fields(row(ch)),
  },
  {
    group: "channel", verb: "disable", summary: "Stop routing to a channel", args: idArg,
    run: (c, { positionals: [id] }) => c.channels.update(id!, { enabled: false }),
    format: (ch) => `channel ${ch.id} (${ch.name}) disabled`,
  },
  {
    group: "channel", verb: "enable", summary: "Route to a channel again", args: idArg,
    run: (c, { positionals: [id] }) => c.channels.update(id!, { enabled: true }),
    format: (ch) => `channel ${ch.id} (${ch.name}) enabled`,
  },
  {
    group: "channel", verb: "delete", summary: "Delete a channel", args: idArg,
    run: (c, { positionals: [id] }) => c.channels.delete(id!),
    format: (r) => `channel ${r.id} deleted`,
  },
  {
    group: "channel", verb: "test", summary: "Send a tiny request to a channel; prints latency or the error", args: idArg,
    run: async (c, { positionals: [id] }) => {
      const r = await c.channels.test(id!);
      if (!r.ok) process.exitCode = 1;
      return r;
    },
    format: (r) => (r.ok ? `ok: ${r.model} answered in ${r.latencyMs} ms` : `failed after ${r.latencyMs} ms: ${r.error}`),
  },
  {
    group: "channel", verb: "reveal", summary: "Print a channel's upstream API key (audited)", args: idArg,
    run: (c, { positionals: [id] }) => c.channels.reveal(id!),
    format: (r) => r.apiKey,
  },
];
