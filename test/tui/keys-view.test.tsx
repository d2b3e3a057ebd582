import { afterAll, beforeAll, expect, test } from "bun:test";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { KeysView } from "../../tui/views/keys-view";
import { KEY, renderView, waitFor } from "./support";

let h: Harness;
let first: Awaited<ReturnType<typeof userWithKey>>;
beforeAll(async () => {
  h = await startRelay();
  first = await userWithKey(h, "alice", {}, { label: "laptop" });
  await h.admin.users.create({ name: "bob" });
});
afterAll(() => h.close());

const view = (revealMs = 10_000, width = 100) => renderView(<KeysView api={h.admin} active width={width} height={22} pollMs={50} revealMs={revealMs} />);

test("lists keys by public prefix with their owner, never the secret", async () => {
  const v = view();
  const f = await v.waitFrame(/alice\s+sk-app-\w{8}\s+laptop\s+yes\s+either/);
  expect(f).toContain(first.prefix);
  expect(f).not.toContain(first.key);
  v.unmount();
});

test("creates a key with every field of the form and shows it once", async () => {
  const v = view();
  await v.waitFrame(first.prefix);
  await v.press("n");
  await v.waitFrame("New API key");
  // User is prefilled from the selected key (alice): replace it with bob.
  await v.press(KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, "bob", KEY.enter);
  await v.press("ci", KEY.enter, KEY.right, KEY.enter, "10.0.0.0/8, 127.0.0.1", KEY.enter, "2099-01-01", KEY.enter);
  await v.press("gpt-4o,gpt-4o-mini", KEY.enter, "5000", KEY.enter, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, "inference", KEY.enter);
  const f = await v.waitFrame("Shown once");
  const key = f.match(/sk-app-\w{8}_\w{48}/)?.[0];
  expect(key).toBeDefined();
  const list = await h.admin.keys.list("bob");
  expect(list.data).toHaveLength(1);
  expect(list.data[0]).toMatchObject({
    label: "ci", group: "official", allowIps: ["10.0.0.0/8", "127.0.0.1"], models: ["gpt-4o", "gpt-4o-mini"], spendLimit: 5000, scopes: ["inference"],
  });
  expect(String(list.data[0]!.expiresAt)).toStartWith("2099-01-01");
  expect(key!.startsWith(list.data[0]!.prefix)).toBe(true);
  await v.press(KEY.enter);
  await v.waitFrame((fr) => !fr.includes(key!) && fr.includes("ci"));
  v.unmount();
});

test("a refused key (bad CIDR) keeps the form and shows why", async () => {
  const v = view();
  await v.waitFrame(first.prefix);
  await v.press("n", KEY.enter, "x", KEY.enter, KEY.enter, "not-an-ip", KEY.enter, KEY.enter, KEY.enter, KEY.enter, KEY.enter);
  await v.waitFrame("not a valid CIDR");
  expect(v.frame()).toContain("New API key");
  expect(v.reports.at(-1)?.kind).toBe("error");
  v.unmount();
});

test("reveal asks first, shows the key for a while, hides it, and is audited", async () => {
  const v = view(400);
  await v.waitFrame(first.prefix);
  await v.press("r");
  await v.waitFrame("Reveal key #1");
  await v.press("n");
  await v.waitFrame((f) => !f.includes("Reveal key"));
  expect((await h.admin.audit(5)).data.some((a: any) => a.action === "key.reveal")).toBe(false);
  await v.press("r", "y");
  await v.waitFrame(first.key);
  await v.waitFrame((f) => !f.includes(first.key), 3000);
  expect((await h.admin.audit(5)).data[0]).toMatchObject({ action: "key.reveal", target: `key:${first.keyId}` });
  v.unmount();
});

test("esc and a key in one chunk: both act (the shown key is hidden, then n opens the form)", async () => {
  const v = view();
  await v.waitFrame(first.prefix);
  await v.press("r", "y");
  await v.waitFrame(first.key);
  v.stdin.write("\u001bn");
  const f = await v.waitFrame("New API key");
  expect(f).not.toContain(first.key);
  v.stdin.write("\u001b\u001b");
  await v.waitFrame((fr) => !fr.includes("New API key") && fr.includes(first.prefix));
  v.unmount();
});

test("disable, enable, and delete after confirming", async () => {
  const doomed = await userWithKey(h, "carol", {}, { label: "doomed" });
  const v = view();
  await v.waitFrame(doomed.prefix);
  await v.press("/", "carol");
  await v.waitFrame((f) => f.includes("/ filter by label, prefix: carol▏") && f.includes("nothing matches the filter"));
  await v.press(KEY.esc, "/", doomed.prefix.slice(-5), KEY.enter);
  await v.waitFrame((f) => f.includes(doomed.prefix) && !f.includes(first.prefix));
  await v.press(KEY.esc, "/", "doomed", KEY.enter);
  await v.waitFrame((f) => f.includes(doomed.prefix) && !f.includes(first.prefix) && f.includes("filter by label, prefix: doomed"));
  await v.press("x");
  await v.waitReport(/disabled/);
  expect((await h.admin.keys.get(doomed.keyId)).enabled).toBe(false);
  await v.press("x");
  await v.waitReport(/enabled/);
  await v.press("d");
  await v.waitFrame("Delete key");
  await v.press(KEY.esc);
  await v.waitFrame((f) => !f.includes("Delete key"));
  expect((await h.admin.keys.get(doomed.keyId)).id).toBe(doomed.keyId);
  await v.press("d", "y");
  await v.waitReport(/deleted/);
  await waitFor(() => h.admin.keys.get(doomed.keyId).then(() => undefined, (e) => e.code), "the key to be gone");
  await v.waitFrame("nothing matches the filter");
  v.unmount();
});

test("details show the key's fields and a 72-hour timeline", async () => {
  const v = view(10_000, 90);
  await v.waitFrame(first.prefix);
  await v.press(KEY.enter);
  const f = await v.waitFrame("Last 72 h, per hour");
  expect(f).toContain(`Key #${first.keyId} ${first.prefix}`);
  expect(f).toMatch(/requests\s.*Σ 0/);
  expect(f).toMatch(/tokens\s.*Σ 0/);
  v.unmount();
});
