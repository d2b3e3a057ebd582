import { AdminRefused, AdminUnreachable } from "../client";

/** The status line: the outcome of the last action, or what is running now. */
export type Status = { kind: "info" | "error" | "busy"; text: string } | null;

/** One line for any failure: the server's message and code, the unreachable socket, or a bug's message. */
export function describeError(e: unknown): string {
  if (e instanceof AdminRefused) return `${e.message} (${e.code})`;
  if (e instanceof AdminUnreachable) return e.message;
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}
