import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { useEffect } from "react";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { App } from "../../tui/app";
import type { AdminApi } from "../../tui/api";
import { STATUS_MS } from "../../tui/state/status";
import { KEY, renderView, waitFor } from "./support";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
  await userWithKey(h, "alice");
});
afterAll(() => h.close());

/** Notices when Ink unmounts the tree (what `q` does). */
function app(api: AdminApi, size = { columns: 80, rows: 24 }) {
  const state = { unmounted: false };
  function Probe() {
    useEffect(() => () => void (state.unmounted = true), []);
    return null;
  }
  const v = renderView(
    <>
      <App api={api} size={size} pollMs={50} />
      <Probe />
    </>,
  );
  return { v, state };
}

describe("app shell", () => {
  test("fills 80×24 exactly: header with address and health, tabs, the view, status and footer", async () => {
    const { v } = app(h.admin);
    const f = await v.waitFrame((fr) => fr.includes("● ok") && fr.includes("alice"));
    const lines = f.split("\n");
    expect(lines.length).toBe(24);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    expect(lines[0]).toContain(h.url);
    // All nine tabs fit at 80 columns (one space apart there).
    expect(lines[1]).toContain("1 Users 2 Keys 3 Channels 4 Usage 5 Ledger 6 Audit 7 Orgs 8 Prices 9 Webhooks");
    expect(lines[23]).toMatch(/^n new\s+e edit\s+c credits\s+x on\/off\s+enter details\s+\/ filter\s+q quit\s+\? help/);
    v.unmount();
  });

  test("grows with the terminal", async () => {
    const { v } = app(h.admin, { columns: 130, rows: 40 });
    const f = await v.waitFrame("alice");
    expect(f.split("\n").length).toBe(40);
    expect(f.split("\n")[1]).toContain("1 Users  2 Keys  3 Channels  4 Usage  5 Ledger  6 Audit  7 Orgs  8 Prices  9 Webhooks");
    v.unmount();
  });

  test("number keys, tab and shift-tab switch views; the footer follows the view", async () => {
    const { v } = app(h.admin);
    await v.waitFrame("alice");
    await v.press("2");
    await v.waitFrame((f) => f.includes("Keys 1") && /r reveal/.test(f));
    await v.press(KEY.tab);
    await v.waitFrame((f) => f.includes("Channels") && /t test/.test(f));
    await v.press(KEY.shiftTab, KEY.shiftTab);
    await v.waitFrame("Users 1");
    await v.press("6");
    await v.waitFrame("Audit log");
    await v.press("8");
    await v.waitFrame((f) => f.includes("Prices 0") && /n set/.test(f));
    await v.press(KEY.tab);
    await v.waitFrame("Webhook deliveries");
    await v.press(KEY.tab);
    await v.waitFrame("Users 1");
    await v.press(KEY.shiftTab);
    await v.waitFrame("Webhook deliveries");
    await v.press("8");
    await v.waitFrame("Prices 0");
    v.unmount();
  });

  test("7 opens the Orgs view at 80×24: every line fits; the footer offers resume for a suspended org", async () => {
    await h.admin.orgs.create({ name: "acme", owner: "alice", credits: 100 });
    await h.admin.orgs.create({ name: "zeta" });
    await h.admin.orgs.update("zeta", { suspended: true });
    const { v } = app(h.admin);
    await v.waitFrame("alice");
    await v.press("7");
    let f = await v.waitFrame((fr) => /acme\s+active\s+100/.test(fr) && fr.includes("x suspend"));
    expect(f.split("\n")).toHaveLength(24);
    for (const l of f.split("\n")) expect([...l].length).toBeLessThanOrEqual(80);
    await v.press("j");
    await v.waitFrame("x resume");
    await v.press("k", KEY.enter);
    // The ledger pane shows its title while its rows load: wait for the rows.
    f = await v.waitFrame((fr) => fr.includes("Ledger, newest first") && fr.includes("initial credits"));
    expect(f.split("\n")).toHaveLength(24);
    for (const l of f.split("\n")) expect([...l].length).toBeLessThanOrEqual(80);
    v.unmount();
  });

  test("? lists every binding, scrolls, and closes", async () => {
    const { v } = app(h.admin, { columns: 100, rows: 60 });
    await v.waitFrame("alice");
    await v.press("?");
    const f = await v.waitFrame("Key bindings");
    for (const t of ["quit", "filter the list", "grant credits with a note", "delete the key (asks first)", "test the channel", "choose the user whose ledger"]) expect(f).toContain(t);
    await v.press("?");
    await v.waitFrame((fr) => !fr.includes("Key bindings") && fr.includes("alice"));
    v.unmount();
  });

  test("at 80×24 the help screen scrolls to its last binding", async () => {
    const { v } = app(h.admin);
    await v.waitFrame("alice");
    await v.press("?");
    await v.waitFrame("Key bindings");
    expect(v.frame()).not.toContain("hide the shown key");
    await v.press("\x1b[6~", "\x1b[6~", "\x1b[6~", "\x1b[6~");
    await v.waitFrame("hide the shown key");
    await v.press(KEY.esc);
    await v.waitFrame((f) => !f.includes("Key bindings"));
    v.unmount();
  });

  test("in a form, q and digits are typed, not commands; esc leaves the form", async () => {
    const { v, state } = app(h.admin);
    await v.waitFrame("alice");
    await v.press("n", "q", "2", KEY.tab);
    const f = await v.waitFrame("New user");
    expect(f).toMatch(/Name\*\s+q2/);
    expect(state.unmounted).toBe(false);
    await v.press(KEY.esc, "/", "q");
    await v.waitFrame("/ filter by name: q");
    expect(state.unmounted).toBe(false);
    v.unmount();
  });

  test("esc and a digit in one chunk (fast typing): the esc hides the revealed key, then the digit switches views", async () => {
    const { v } = app(h.admin);
    await v.waitFrame("alice");
    await v.press("2");
    await v.waitFrame(/Keys 1/);
    await v.press("r", "y");
    const f = await v.waitFrame("Revealed; the server audited it.");
    const key = f.match(/sk-app-\w{8}_\w{48}/)![0];
    v.stdin.write("\u001b4");
    await v.waitFrame((fr) => fr.includes("live, newest first") && !fr.includes(key));
    await v.press("2");
    await v.waitFrame(/Keys 1/);
    expect(v.frame()).not.toContain(key);

    await v.press("/", "zz");
    await v.waitFrame("/ filter by label, prefix: zz▏");
    v.stdin.write("\u001b1");
    await v.waitFrame((fr) => fr.includes("Users 1") && fr.includes("alice"));
    v.unmount();
  });

  test("the status line clears after STATUS_MS (by the app's clock), at the next command, and on a view switch", async () => {
    let now = Date.now();
    const v = renderView(<App api={h.admin} size={{ columns: 80, rows: 24 }} pollMs={50} clock={() => now} />);
    await v.waitFrame("alice");
    await v.press("x");
    await v.waitFrame("✓ user alice disabled");
    now += STATUS_MS;
    await v.waitFrame((f) => !f.includes("user alice disabled"));

    await v.press("x");
    await v.waitFrame("✓ user alice enabled");
    await v.press("j");
    await v.waitFrame((f) => !f.includes("user alice enabled"));

    await v.press("x");
    await v.waitFrame("✓ user alice disabled");
    await v.press("2");
    await v.waitFrame((f) => f.includes("Keys 1") && !f.includes("user alice disabled"));
    // Back on Users, its list loads again before a key can act on a row: wait for it, then act.
    await v.press("1");
    await v.waitFrame((f) => f.includes("Users 1") && f.includes("alice"));
    await v.press("x");
    await v.waitFrame("✓ user alice enabled");
    v.unmount();
  });

  test("q quits", async () => {
    const { v, state } = app(h.admin);
    await v.waitFrame("alice");
    await v.press("q");
    await waitFor(() => state.unmounted || undefined, "the app to unmount");
  });

  test("a view that breaks while drawing shows its error; the rest keeps working", async () => {
    const broken = { ...h.admin, users: { ...h.admin.users, list: async () => ({ data: [null] }) } } as unknown as AdminApi;
    const { v } = app(broken);
    const f = await v.waitFrame("This view failed");
    expect(f).toContain("view failed:");
    await v.press("2");
    await v.waitFrame("Keys");
    v.unmount();
  });

  test("an unchanged list is not redrawn", async () => {
    const { v } = app(h.admin);
    await v.waitFrame((f) => f.includes("alice") && f.includes("● ok"));
    await Bun.sleep(150);
    const before = v.frames.length;
    await Bun.sleep(400);
    expect(v.frames.length).toBe(before);
    v.unmount();
  });
});
