import type { ReactElement } from "react";
import { render } from "ink-testing-library";
import { UiContext, type Ui } from "../../tui/hooks/use-ui";
import type { Status } from "../../tui/state/status";

/** Key sequences as a terminal sends them. */
export const KEY = {
  enter: "\r",
  esc: "\x1b",
  tab: "\t",
  shiftTab: "\x1b[Z",
  up: "\x1b[A",
  down: "\x1b[B",
  right: "\x1b[C",
  left: "\x1b[D",
  backspace: "\x7f",
} as const;

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "");

/** Renders a view inside the UI context, recording what it reports for the status line. */
export function renderView(el: ReactElement) {
  const reports: NonNullable<Status>[] = [];
  const ui: Ui = { report: (s) => void (s && reports.push(s)), commandRan: () => {}, setScopes: () => {} };
  const inst = render(<UiContext.Provider value={ui}>{el}</UiContext.Provider>);
  const frame = () => stripAnsi(inst.lastFrame() ?? "");
  /** Writes each key separately, giving Ink a moment to handle each (escape needs its flush delay). */
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      inst.stdin.write(k);
      await Bun.sleep(k === KEY.esc ? 60 : 15);
    }
  };
  const waitFrame = (what: string | RegExp | ((f: string) => boolean), timeoutMs = 5000) =>
    waitFor(() => {
      const f = frame();
      return (typeof what === "string" ? f.includes(what) : what instanceof RegExp ? what.test(f) : what(f)) ? f : undefined;
    }, `frame to show ${String(what)}`, timeoutMs, () => frame());
  const waitReport = (re: RegExp, timeoutMs = 5000) =>
    waitFor(() => reports.find((r) => re.test(r.text)), `a status line matching ${re}`, timeoutMs, () => JSON.stringify(reports));
  return { ...inst, frame, press, waitFrame, waitReport, reports };
}

/** Polls until `fn` returns a value; fails with what was last seen. */
export async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 5000, seen?: () => string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${seen ? `\nlast seen:\n${seen()}` : ""}`);
    await Bun.sleep(20);
  }
}
