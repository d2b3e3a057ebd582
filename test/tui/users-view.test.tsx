import { afterAll, beforeAll, expect, test } from "bun:test";
import { startRelay, type Harness } from "../support/harness";
import { UsersView } from "../../tui/views/users-view";
import { KEY, renderView } from "./support";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
  await h.admin.users.create({ name: "alice", credits: 1000, concurrency: 2 });
});
afterAll(() => h.close());

const view = (onShowLedger?: (u: string) => void) => renderView(<UsersView api={h.admin} active width={100} height={20} pollMs={50} onShowLedger={onShowLedger} />);

test("lists users with balance, holds, in-flight and tokens this month", async () => {
  const v = view();
  const f = await v.waitFrame("alice");
  expect(f).toContain("BALANCE");
  expect(f).toContain("IN-FLIGHT");
  expect(f).toMatch(/alice\s+user\s+yes\s+0\/2\s+1,000\s+0\s+0\/∞/);
  v.unmount();
});

test("creates a user with the form; the new row appears", async () => {
  const v = view();
  await v.waitFrame("alice");
  await v.press("n");
  await v.waitFrame("New user");
  await v.press("bob", KEY.enter, "4", KEY.enter, "5000", KEY.enter, "300", KEY.enter);
  await v.waitReport(/user bob created/);
  await v.waitFrame(/bob\s+user\s+yes\s+0\/4\s+300/);
  expect(await h.admin.users.get("bob")).toMatchObject({ concurrency: 4, monthlyTokens: 5000, balance: 300 });
  v.unmount();
});

test("a refused create keeps the form open with the server's error", async () => {
  const v = view();
  await v.waitFrame("alice");
  await v.press("n", "alice", KEY.tab, KEY.tab, KEY.tab, KEY.enter);
  const f = await v.waitFrame("(conflict)");
  expect(f).toContain("New user");
  expect(v.reports.at(-1)).toMatchObject({ kind: "error" });
  await v.press(KEY.esc);
  await v.waitFrame((fr) => !fr.includes("New user"));
  v.unmount();
});

test("a bad number is caught before sending", async () => {
  const v = view();
  await v.waitFrame("alice");
  await v.press("n", "carl", KEY.enter, "lots", KEY.enter, KEY.enter, KEY.enter);
  await v.waitFrame("Concurrency: 'lots' is not a whole number");
  v.unmount();
});

test("edits limits, grants credits with a note, disables and enables", async () => {
  const v = view();
  await v.waitFrame("alice");
  await v.press("e");
  await v.waitFrame("Limits of alice");
  await v.press(KEY.backspace, "7", KEY.enter, "9000", KEY.enter);
  await v.waitReport(/user alice updated/);
  expect(await h.admin.users.get("alice")).toMatchObject({ concurrency: 7, monthlyTokens: 9000 });

  await v.press("c");
  await v.waitFrame("Grant credits to alice");
  await v.press("250", KEY.enter, "welcome bonus", KEY.enter);
  await v.waitReport(/granted 250 credits to alice/);
  await v.waitFrame("1,250");
  const ledger = await h.admin.credits.ledger("alice", 5);
  expect(ledger.data[0]).toMatchObject({ amount: 250, note: "welcome bonus" });

  await v.press("x");
  await v.waitReport(/user alice disabled/);
  await v.waitFrame(/alice\s+user\s+no/);
  expect((await h.admin.users.get("alice")).enabled).toBe(false);
  await v.press("x");
  await v.waitReport(/user alice enabled/);
  expect((await h.admin.users.get("alice")).enabled).toBe(true);
  v.unmount();
});

test("filter, details and the ledger shortcut", async () => {
  let shown = "";
  const v = view((u) => (shown = u));
  await v.waitFrame("alice");
  await v.waitFrame("bob");
  await v.press("/", "bo");
  await v.waitFrame((f) => f.includes("/ filter by name: bo▏") && !f.includes("alice"));
  await v.press(KEY.enter, KEY.enter);
  const f = await v.waitFrame("User bob");
  expect(f).toContain("monthly quota");
  await v.press(KEY.esc, "l");
  expect(shown).toBe("bob");
  v.unmount();
});

test("the filter searches names only: 'er' does not match every user through the role 'user'", async () => {
  await h.admin.users.create({ name: "peter" });
  const v = view();
  await v.waitFrame("peter");
  await v.press("/", "er");
  const f = await v.waitFrame((fr) => fr.includes("/ filter by name: er▏") && !fr.includes("alice"));
  expect(f).toContain("peter");
  expect(f).not.toMatch(/bob\s+user/);
  await v.press(KEY.backspace, KEY.backspace, "user", KEY.enter);
  await v.waitFrame((fr) => fr.includes("filter by name: user") && fr.includes("nothing matches the filter"));
  v.unmount();
});

test("a failing server shows the error in the view, not a crash", async () => {
  const api = { ...h.admin, users: { ...h.admin.users, list: () => Promise.reject(new Error("socket closed")) } };
  const v = renderView(<UsersView api={api} active width={80} height={12} pollMs={50} />);
  await v.waitFrame("✗ socket closed");
  v.unmount();
});
