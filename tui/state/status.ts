import { AdminRefused, AdminUnreachable } from "../client";

/** The status line: the outcome of the last action, or what is running now. */
export type Status = { kind: "info" | "error" | "busy"; text: string } | null;

/** How long an outcome stays on the status line. @default 5 s */
export const STATUS_MS = 5000;

/** The line and when it was reported. */
export type StatusState = { status: Status; at: number };

/**
 * `command`: a key ran a command (switching views too), so the last outcome is about something else
 * now. `tick`: time passed; an outcome goes after STATUS_MS, what is running stays until its outcome.
 */
export type StatusAction = { type: "report"; status: Status; now: number } | { type: "command" } | { type: "tick"; now: number };

export const noStatus: StatusState = { status: null, at: 0 };

/** The line can still go away by itself. */
export const expires = (s: StatusState) => s.status !== null && s.status.kind !== "busy";

export function statusReducer(s: StatusState, a: StatusAction): StatusState {
  switch (a.type) {
    case "report":
      return { status: a.status, at: a.now };
    case "command":
      return s.status === null ? s : noStatus;
    case "tick":
      return expires(s) && a.now - s.at >= STATUS_MS ? noStatus : s;
  }
}

/** One line for any failure: the server's message and code, the unreachable socket, or a bug's message. */
export function describeError(e: unknown): string {
  if (e instanceof AdminRefused) return `${e.message} (${e.code})`;
  if (e instanceof AdminUnreachable) return e.message;
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}
