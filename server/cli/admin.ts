import { AdminClient, AdminRefused, AdminUnreachable } from "../../tui/client";
import { parseArgs, UsageError, type FlagSpec } from "./args";
import type { Command } from "./command";
import { userCommands } from "./commands/users";
import { keyCommands } from "./commands/keys";
import { systemCommands } from "./commands/system";
import { channelCommands } from "./commands/channels";
import { billingCommands } from "./commands/billing";

export const commands: Command[] = [...userCommands, ...keyCommands, ...channelCommands, ...billingCommands, ...systemCommands];

const JSON_FLAG: FlagSpec = { name: "json", type: "bool", help: "print exactly one JSON value on stdout" };
const HELP_FLAG: FlagSpec = { name: "help", type: "bool", help: "show this help" };

const nameOf = (c: Command) => [c.group, c.verb].filter(Boolean).join(" ");

function groupHelp(group?: string): string {
  const list = commands.filter((c) => !group || c.group === group);
  const width = Math.max(...list.map((c) => nameOf(c).length));
  return [
    `usage: relay admin ${group ?? "<command>"} ${group ? "<verb> " : ""}[args] [--json]`,
    "",
    ...list.map((c) => `  ${nameOf(c).padEnd(width)}  ${c.summary}`),
    "",
    "Every command accepts --json and --help. Exit codes: 0 ok, 1 the server refused (or is unreachable), 2 bad usage.",
  ].join("\n");
}

function commandHelp(c: Command): string {
  const flags = [...(c.flags ?? []), JSON_FLAG, HELP_FLAG];
  const args = (c.args ?? []).map((a) => a.name).join(" ");
  const fmt = (f: FlagSpec) => `--${f.name}${f.type === "bool" ? "" : f.type === "repeat" ? " VALUE..." : " VALUE"}`;
  const width = Math.max(...flags.map((f) => fmt(f).length), ...(c.args ?? []).map((a) => a.name.length));
  return [
    `usage: relay admin ${nameOf(c)}${args ? " " + args : ""} [flags]`,
    "",
    c.summary,
    "",
    ...(c.args ?? []).map((a) => `  ${a.name.padEnd(width)}  ${a.help}`),
    ...flags.map((f) => `  ${fmt(f).padEnd(width)}  ${f.help}${f.required ? " (required)" : ""}`),
  ].join("\n");
}

/** Runs `relay admin …` and returns the exit code. Output: one JSON value with --json, else human text. */
export async function runAdmin(argv: string[], socketPath: string, out = (s: string) => console.log(s), err = (s: string) => console.error(s)): Promise<number> {
  const [group, maybeVerb, ...rest] = argv;
  if (!group || group === "--help" || group === "-h" || group === "help") {
    out(groupHelp());
    return group ? 0 : 2;
  }
  let cmd = commands.find((c) => c.group === group && c.verb === maybeVerb);
  let tail = rest;
  if (!cmd) {
    cmd = commands.find((c) => c.group === group && c.verb === "");
    tail = maybeVerb === undefined ? [] : [maybeVerb, ...rest];
    if (!cmd || (maybeVerb && !maybeVerb.startsWith("--"))) {
      if (commands.some((c) => c.group === group)) {
        if (maybeVerb === "--help" || maybeVerb === "-h" || maybeVerb === undefined) {
          out(groupHelp(group));
          return maybeVerb ? 0 : 2;
        }
        err(`error: unknown command 'relay admin ${group} ${maybeVerb}'\n\n${groupHelp(group)}`);
      } else {
        err(`error: unknown command '${group}'\n\n${groupHelp()}`);
      }
      return 2;
    }
  }
  if (tail.includes("--help") || tail.includes("-h")) {
    out(commandHelp(cmd));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs(tail, [...(cmd.flags ?? []), JSON_FLAG], cmd.args?.length ?? 0);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n\n${commandHelp(cmd)}`);
      return 2;
    }
    throw e;
  }
  const client = new AdminClient(socketPath);
  try {
    const result = await cmd.run(client, parsed);
    if (parsed.flags.json) out(JSON.stringify(result));
    else out(cmd.format ? cmd.format(result) : JSON.stringify(result, null, 2));
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}`);
      return 2;
    }
    if (e instanceof AdminRefused) {
      err(`error: ${e.message} (${e.code})`);
      return 1;
    }
    if (e instanceof AdminUnreachable) {
      err(`error: ${e.message}`);
      return 1;
    }
    err(`error: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}
