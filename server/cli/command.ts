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
  run: (client: AdminClient, a: Parsed) => Promise<unknown>;
  /** Human rendering of the result; --json prints the result itself. */
  format?: (result: any) => string;
};
