import { AdminClient, AdminRefused, AdminUnreachable } from "../../tui/client";
import { parseArgs, UsageError, type FlagSpec } from "./args";
import type { Command } from "./command";
import { userCommands } from "./commands/users";
import { keyCommands } from "./commands/keys";
import { systemCommands } from "./commands/system";
import { channelCommands } from "./commands/channels";
import { billingCommands } from "./commands/billing";
import { orgCommands } from "./commands/orgs";
import { databaseCommands } from "./commands/database";
import { webhookCommands } from "./commands/webhooks";

export const commands: Command[] = [...userCommands, ...orgCommands, ...keyCommands, ...channelCommands, ...billingCommands, ...webhookCommands, ...systemCommands, ...databaseCommands];

const JSON_FLAG: FlagSpec = { name: "json", type: "bool", help: "print exactly one JSON value on stdout" };
const HELP_FLAG: FlagSpec = { name: "help", type: "bool", help: "show this help" };
const EXIT_CODES = "Exit codes: 0 ok, 1 the server refused (or is unreachable), 2 bad usage.";

const nameOf = (c: Command) => [c.group, c.verb].filter(Boolean).join(" ");
const isHelp = (arg: string | undefined) => arg === "--help" || arg === "-h";

function groupHelp(group?: string): string {
  const list = commands.filter((c) => !group || c.group === group);
  if (group && list.length === 1 && list[0]!.verb === "") return commandHelp(list[0]!);
  const width = Math.max(...list.map((c) => nameOf(c).length));
  return [
    `usage: relay admin ${group ? `${group} <verb>` : "<command>"} [args] [--json]`,
    "",
    ...list.map((c) => `  ${nameOf(c).padEnd(width)}  ${c.summary}`),
    "",
    `Every command accepts --json and --help (also: relay admin help <command>). ${EXIT_CODES}`,
  ].join("\n");
}

function commandHelp(c: Command): string {
  const flags = [...(c.flags ?? []), JSON_FLAG, HELP_FLAG];
  const args = (c.args ?? []).map((a) => (a.optional ? `[${a.name}]` : a.name)).join(" ");
  const fmt = (f: FlagSpec) => `--${f.name}${f.type === "bool" ? "" : f.type === "repeat" ? " VALUE..." : " VALUE"}`;
  const width = Math.max(...flags.map((f) => fmt(f).length), ...(c.args ?? []).map((a) => a.name.length));
  return [
    `usage: relay admin ${nameOf(c)}${args ? " " + args : ""} [flags]`,
    "",
    c.summary,
    "",
    ...(c.args ?? []).map((a) => `  ${a.name.padEnd(width)}  ${a.help}`),
    ...flags.map((f) => `  ${fmt(f).padEnd(width)}  ${f.help}${f.required ? " (required)" : ""}`),
    "",
    EXIT_CODES,
  ].join("\n");
}

/** What argv asks for: some help, a usage error (exit 2), or a command with its own arguments. */
type Resolved =
  | { kind: "help"; text: string }
  | { kind: "usage"; message: string; help: string }
  | { kind: "run"; cmd: Command; tail: string[] };

function resolve(argv: string[]): Resolved {
  // Groups of two words (`org member add`) first.
  if (argv.length >= 2 && commands.some((c) => c.group === `${argv[0]} ${argv[1]}`)) argv = [`${argv[0]} ${argv[1]}`, ...argv.slice(2)];
  const [group, ...rest] = argv;
  if (group === undefined) return { kind: "usage", message: "missing command", help: groupHelp() };
  if (isHelp(group)) return { kind: "help", text: groupHelp() };
  if (group === "help") return resolveHelp(rest);
  const inGroup = commands.filter((c) => c.group === group);
  if (inGroup.length === 0) return { kind: "usage", message: `unknown command '${group}'`, help: groupHelp() };
  const [verb, ...tail] = rest;
  const named = verb === undefined || verb.startsWith("-") ? undefined : inGroup.find((c) => c.verb === verb);
  if (named) return { kind: "run", cmd: named, tail };
  const bare = inGroup.find((c) => c.verb === "");
  if (bare) return { kind: "run", cmd: bare, tail: rest };
  if (isHelp(verb)) return { kind: "help", text: groupHelp(group) };
  const message = verb === undefined || verb.startsWith("-") ? `'relay admin ${group}' needs a verb` : `unknown command 'relay admin ${group} ${verb}'`;
  return { kind: "usage", message, help: groupHelp(group) };
}

/** `relay admin help [group [verb]]`. */
function resolveHelp(words: string[]): Resolved {
  if (words.length >= 2 && commands.some((c) => c.group === `${words[0]} ${words[1]}`)) words = [`${words[0]} ${words[1]}`, ...words.slice(2)];
  const [group, verb, ...extra] = words;
  if (group === undefined) return { kind: "help", text: groupHelp() };
  const inGroup = commands.filter((c) => c.group === group);
  if (inGroup.length === 0) return { kind: "usage", message: `unknown command '${group}'`, help: groupHelp() };
  if (verb === undefined) return { kind: "help", text: groupHelp(group) };
  const cmd = inGroup.find((c) => c.verb === verb);
  if (!cmd || extra.length) return { kind: "usage", message: `unknown command 'relay admin ${[group, verb, ...extra].join(" ")}'`, help: groupHelp(group) };
  return { kind: "help", text: commandHelp(cmd) };
}

/**
 * Runs `relay admin …` and returns the exit code: 0 ok, 1 the server refused or cannot be reached,
 * 2 bad usage. Output: with --json exactly one JSON value on `out`, else human text; errors go to `err`.
 * A command may also report failure of an action the server did carry out (a channel test that failed)
 * by setting `process.exitCode`; that becomes exit 1 here and the process's own code is left as it was.
 */
export async function runAdmin(argv: string[], socketPath: string, out = (s: string) => console.log(s), err = (s: string) => console.error(s)): Promise<number> {
  const r = resolve(argv);
  if (r.kind === "help") {
    out(r.text);
    return 0;
  }
  if (r.kind === "usage") {
    err(`error: ${r.message}\n\n${r.help}`);
    return 2;
  }
  const { cmd, tail } = r;
  if (tail.some(isHelp)) {
    out(commandHelp(cmd));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs(tail, [...(cmd.flags ?? []), JSON_FLAG], cmd.args?.length ?? 0, cmd.args?.filter((a) => a.optional).length ?? 0);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n\n${commandHelp(cmd)}`);
      return 2;
    }
    throw e;
  }
  const client = new AdminClient(socketPath);
  const exitCodeBefore = process.exitCode;
  process.exitCode = 0;
  try {
    const result = await cmd.run(client, parsed);
    const failed = Number(process.exitCode ?? 0) !== 0;
    const text = parsed.flags.json ? JSON.stringify(result ?? null) : cmd.format ? cmd.format(result) : JSON.stringify(result, null, 2);
    if (text !== undefined) out(text);
    return failed ? 1 : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`error: ${e.message}\n\n${commandHelp(cmd)}`);
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
    err(`error: ${(e as Error)?.message ?? String(e)}`);
    return 1;
  } finally {
    process.exitCode = exitCodeBefore ?? 0; // Bun ignores `undefined` here; 0 is the same default
  }
}
