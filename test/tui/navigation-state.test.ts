import { expect, test } from "bun:test";
import { initialNav, navigate, VIEWS } from "../../tui/state/navigation";

test("tab and shift-tab cycle through the eight views; Orgs and Prices come after the first six", () => {
  let s = initialNav;
  const seen = [s.view];
  for (let i = 0; i < VIEWS.length; i++) seen.push((s = navigate(s, { type: "next" })).view);
  expect(seen).toEqual([...VIEWS, "users"]);
  expect(VIEWS).toEqual(["users", "keys", "channels", "usage", "ledger", "audit", "orgs", "prices", "webhooks"]);
  expect(navigate(initialNav, { type: "prev" }).view).toBe(VIEWS.at(-1)!);
});

test("number keys jump; out of range is ignored", () => {
  expect(navigate(initialNav, { type: "goto", index: 3 }).view).toBe("usage");
  expect(navigate(initialNav, { type: "goto", index: 6 }).view).toBe("orgs");
  expect(navigate(initialNav, { type: "goto", index: 7 }).view).toBe("prices");
  expect(navigate(initialNav, { type: "goto", index: 8 }).view).toBe("webhooks");
  expect(navigate(initialNav, { type: "goto", index: 9 })).toBe(initialNav);
});

test("help toggles and closes when the view changes", () => {
  const open = navigate(initialNav, { type: "toggle-help" });
  expect(open.help).toBe(true);
  expect(navigate(open, { type: "toggle-help" }).help).toBe(false);
  expect(navigate(open, { type: "next" }).help).toBe(false);
  expect(navigate(initialNav, { type: "close-help" })).toBe(initialNav);
});

test("showing a ledger switches to the Ledger view with that user", () => {
  expect(navigate(initialNav, { type: "show-ledger", user: "bob" })).toEqual({ view: "ledger", help: false, ledgerUser: "bob" });
});
