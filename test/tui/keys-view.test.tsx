import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { App } from "../../tui/app";
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

test("the edit form opens with the key's values and sends only what changed; a cleared limit as null", async () => {
  const k = await h.admin.keys.create({ user: "alice", label: "edit-me", group: "official", allowIps: ["10.0.0.0/8"], expiresAt: "2099-01-01", spendLimit: 700, tpm: 5000, scopes: ["inference"] });
  const sent: [unknown, unknown][] = [];
  const api = { ...h.admin, keys: { ...h.admin.keys, update: (id: number | string, body: Record<string, unknown>) => (sent.push([id, body]), h.admin.keys.update(id, body)) } };
  const v = renderView(<KeysView api={api} active width={100} height={22} pollMs={50} />);
  await v.waitFrame("edit-me");
  await v.press("/", "edit-me", KEY.enter, "e");
  const f = await v.waitFrame(`Edit key #${k.id}`);
  expect(f).toMatch(/Label\s+edit-me/);
  expect(f).toContain("‹ official ›");
  expect(f).toMatch(/IP allow-list\s+10\.0\.0\.0\/8/);
  expect(f).toMatch(/Expires\s+2099-01-01T00:00:00\.000Z/);
  expect(f).toMatch(/Spend limit\s+700/);
  expect(f).toMatch(/Tokens\/min\s+5000/);
  expect(f).toMatch(/Scopes\*\s+inference/);
  // Label: append "-2"; spend limit: clear it; requests/min: 60; enter on scopes submits.
  await v.press("-2", KEY.down, KEY.down, KEY.down, KEY.down, KEY.down, KEY.backspace, KEY.backspace, KEY.backspace, KEY.down, "60", KEY.down, KEY.down, KEY.enter);
  await v.waitReport(new RegExp(`key #${k.id} updated: label, spendLimit, rpm`));
  expect(sent).toEqual([[k.id, { label: "edit-me-2", spendLimit: null, rpm: 60 }]]);
  expect(await h.admin.keys.get(k.id)).toMatchObject({ label: "edit-me-2", group: "official", allowIps: ["10.0.0.0/8"], spendLimit: null, rpm: 60, tpm: 5000, scopes: ["inference"] });

  // Nothing changed: nothing sent. A refusal (an expiry in the past) keeps the form open with the server's reason.
  await v.press(KEY.esc, "/", "edit-me-2", KEY.enter, "e");
  await v.waitFrame("Edit key");
  await v.press(...Array(8).fill(KEY.down), KEY.enter);
  await v.waitReport(/nothing changed/);
  expect(sent).toHaveLength(1);
  await v.press("e", KEY.down, KEY.down, KEY.down, ...Array(24).fill(KEY.backspace), "2001-01-01", ...Array(5).fill(KEY.down), KEY.enter);
  await v.waitFrame((fr) => fr.includes("Edit key") && fr.includes("is in the past"));
  expect(sent.at(-1)).toEqual([k.id, { expiresAt: "2001-01-01" }]);
  v.unmount();
});

/** Org keys: the owner is the org (service) or org/member, the kind is shown, and write-once keys offer no reveal. */
describe("org keys", () => {
  let o: Harness;
  let service: { id: number; prefix: string };
  beforeAll(async () => {
    o = await startRelay();
    await o.admin.users.create({ name: "alice" });
    await o.admin.orgs.create({ name: "acme", owner: "alice", keyReveal: "never" });
    service = (await o.admin.keys.create({ org: "acme", service: true, label: "ci-bot" })) as never;
    await o.admin.keys.create({ org: "acme", member: "alice", label: "laptop" });
    await o.admin.keys.create({ user: "alice", label: "own" });
  });
  afterAll(() => o.close());

  test("the list names the owner and the kind; the details say write-once", async () => {
    const v = renderView(<KeysView api={o.admin} active width={100} height={22} pollMs={50} />);
    const f = await v.waitFrame("laptop");
    expect(f).toMatch(/service\s+acme\s+sk-app-\w{8}\s+ci-bot/);
    expect(f).toMatch(/member\s+acme\/alice\s+sk-app-\w{8}\s+laptop/);
    expect(f).toMatch(/personal\s+alice\s+sk-app-\w{8}\s+own/);
    await v.press(KEY.enter);
    const d = await v.waitFrame(`Key #${service.id}`);
    expect(d).toMatch(/owner\s+acme \(service key\)/);
    expect(d).toMatch(/reveal\s+write-once: relay keeps no copy/);
    v.unmount();
  });

  test("at 80 columns the kind column gives way; the owner still tells org keys apart", async () => {
    const v = renderView(<KeysView api={o.admin} active width={80} height={22} pollMs={50} />);
    const f = await v.waitFrame("laptop");
    expect(f).not.toContain("KIND");
    expect(f).toMatch(/acme\/alice\s+sk-app-\w{8}\s+laptop/);
    for (const l of f.split("\n")) expect([...l].length).toBeLessThanOrEqual(80);
    v.unmount();
  });

  test("r on a write-once key says so instead of asking; the footer says write-once, not reveal", async () => {
    const v = renderView(<App api={o.admin} size={{ columns: 100, rows: 24 }} pollMs={50} />);
    await v.waitFrame("Users 1");
    await v.press("2");
    let f = await v.waitFrame((fr) => fr.includes("ci-bot") && fr.includes("r write-once"));
    expect(f).not.toContain("r reveal");
    await v.press("r");
    await v.waitFrame(`✗ key #${service.id} sk-app-`);
    f = v.frame();
    expect(f).toContain("is write-once: relay keeps no copy to reveal");
    expect(f).not.toContain("Reveal key");
    await v.press("G");
    await v.waitFrame((fr) => /own\s+yes/.test(fr) && fr.includes("r reveal"));
    v.unmount();
  });
});
