import type { AdminClient } from "../../tui/client";
import type { FlagSpec, Parsed } from "./args";

/** One `relay admin <group> <verb>` command. Commands are data: help and parsing are generated from them. */
export type Command = {
  group: string;
  verb: string;
  summary: string;
  /** Positional arguments, in order; optional ones last. */
  args?: { name: string; help: string; optional?: boolean }[];
  flags?: FlagSpec[];
  /** Works on the configured database itself, not over the socket (migrate, export, import): needs no running server. */
  local?: boolean;
  run: (client: AdminClient, a: Parsed) => Promise<unknown>;
  /** Human rendering of the result; --json prints the result itself. `undefined`: print nothing (a dump already went to stdout). */
  format?: (result: any) => string | undefined;
};
