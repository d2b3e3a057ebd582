import { expect, test } from "bun:test";
import { noStatus, STATUS_MS, statusReducer, type StatusState } from "../../tui/state/status";

const at = 1_000_000;
const report = (kind: "info" | "error" | "busy"): StatusState => statusReducer(noStatus, { type: "report", status: { kind, text: kind }, now: at });

test("an outcome stays until STATUS_MS have passed, then goes", () => {
  for (const kind of ["info", "error"] as const) {
    const s = report(kind);
    expect(statusReducer(s, { type: "tick", now: at + STATUS_MS - 1 })).toBe(s);
    expect(statusReducer(s, { type: "tick", now: at + STATUS_MS })).toEqual(noStatus);
  }
});

test("a newer report starts its own time", () => {
  const s = statusReducer(report("info"), { type: "report", status: { kind: "error", text: "later" }, now: at + 4000 });
  expect(statusReducer(s, { type: "tick", now: at + STATUS_MS })).toBe(s);
  expect(statusReducer(s, { type: "tick", now: at + 4000 + STATUS_MS }).status).toBeNull();
});

test("what is running stays until its outcome replaces it", () => {
  const s = report("busy");
  expect(statusReducer(s, { type: "tick", now: at + 60 * STATUS_MS })).toBe(s);
});

test("the next command clears the line", () => {
  for (const kind of ["info", "error", "busy"] as const) expect(statusReducer(report(kind), { type: "command" })).toEqual(noStatus);
  expect(statusReducer(noStatus, { type: "command" })).toBe(noStatus);
});
