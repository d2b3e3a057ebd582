import { afterAll, beforeAll, expect, test } from "bun:test";
import { startRelay, type Harness } from "../support/harness";
import { OrgsView } from "../../tui/views/orgs-view";
import type { OrgsApi } from "../../tui/api";
import { KEY, renderView, waitFor } from "./support";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
  for (const name of ["alice", "bob", "carol", "dave"]) await h.admin.users.create({ name });
  await h.admin.orgs.create({ name: "acme", owner: "alice", credits: 1000, concurrency: 5 });
  await h.admin.orgs.addMember("acme", { user: "bob", role: "member", monthlySpend: 500 });
});
afterAll(() => h.close());

const view = (api: OrgsApi = h.admin, width = 100, height = 22) => renderView(<OrgsView api={api} active width={width} height={height} pollMs={50} />);
type View = ReturnType<typeof view>;
/** Filters the list down to one org (org names here are no user's name, so members do not match). */
const select = async (v: View, org: string) => {
  await v.press("/", org, KEY.enter);
  await v.waitFrame((f) => f.includes(`filter by name, member: ${org}`) && new RegExp(`${org}\\s+(active|suspended)`).test(f));
};
/** An org of its own for a test, owned by alice. */
const org = (name: string, more: Record<string, unknown> = {}) => h.admin.orgs.create({ name, owner: "alice", ...more });

test("lists orgs with state, balance, held credits, in flight, members and keys", async () => {
  const v = view();
  const f = await v.waitFrame("acme");
  expect(f).toMatch(/NAME\s+STATE\s+BALANCE\s+HELD\s+IN-FLIGHT\s+MEMBERS\s+KEYS/);
  expect(f).toMatch(/acme\s+active\s+1,000\s+0\s+0\/5\s+2\s+0/);
  v.unmount();
});

test("the details show balance, limits, the members with roles and caps, and the latest ledger rows", async () => {
  await h.admin.orgs.grant("acme", { amount: 5, note: "second entry" });
  const v = view(h.admin, 100, 22);
  await v.waitFrame("acme");
  await v.press(KEY.enter);
  const f = await v.waitFrame("Ledger, newest first");
  expect(f).toMatch(/balance\s+1,005 \(0 held\)/);
  expect(f).toMatch(/in flight\s+0 of 5/);
  expect(f).toMatch(/tokens\s+0 this month of unlimited/);
  expect(f).toMatch(/per minute\s+rpm - · tpm -/);
  expect(f).toContain("Members (2)");
  expect(f).toMatch(/alice\s+owner\s+-\s+-\s+-\s+-/);
  expect(f).toMatch(/bob\s+member\s+500\s+-/);
  const ledger = await v.waitFrame("initial credits");
  expect(ledger.indexOf("second entry")).toBeLessThan(ledger.indexOf("initial credits"));
  expect(ledger).toMatch(/grant\s+\+5\s+1,005\s+second entry/);
  v.unmount();
});

test("creates an org with the form: name, owner, credits, concurrency", async () => {
  const v = view();
  await v.waitFrame("acme");
  await v.press("n");
  await v.waitFrame("New organization");
  await v.press("globex", KEY.enter, "carol", KEY.enter, "250", KEY.enter, "3", KEY.enter);
  await v.waitReport(/org globex created with owner carol/);
  await v.waitFrame(/globex\s+active\s+250\s+0\s+0\/3\s+1\s+0/);
  const g = await h.admin.orgs.get("globex");
  expect(g).toMatchObject({ balance: 250, concurrency: 3, members: [{ name: "carol", role: "owner" }] });
  v.unmount();
});

test("a refused create keeps the form open with the server's reason", async () => {
  const v = view();
  await v.waitFrame("acme");
  await v.press("n", "acme", KEY.enter, KEY.enter, KEY.enter, KEY.enter);
  const f = await v.waitFrame("already exists");
  expect(f).toContain("New organization");
  expect(v.reports.at(-1)).toMatchObject({ kind: "error" });
  v.unmount();
});

test("adds a member: the role is a choice field, the caps are optional", async () => {
  await org("initech");
  const v = view();
  await select(v, "initech");
  await v.press("a");
  await v.waitFrame("Add a member to initech");
  await v.press("dave", KEY.enter);
  await v.waitFrame("‹ member ›  inference and their own keys");
  await v.press(KEY.right);
  await v.waitFrame("‹ admin ›");
  await v.press(KEY.enter, "200", KEY.enter, "2", KEY.enter, KEY.enter, KEY.enter);
  await v.waitReport(/dave added to initech as admin/);
  await v.waitFrame(/initech\s+active\s+0\s+0\s+0\/10\s+2\s+0/);
  expect((await h.admin.orgs.get("initech")).members).toContainEqual({ userId: expect.any(Number), name: "dave", role: "admin", monthlySpend: 200, concurrency: 2, rpm: null, tpm: null });
  v.unmount();
});

test("edits a member: choose whom, then only what changed is sent (a cleared cap as null)", async () => {
  await org("hooli");
  await h.admin.orgs.addMember("hooli", { user: "bob", role: "member", monthlySpend: 500, rpm: 30 });
  const sent: unknown[] = [];
  const api = { ...h.admin, orgs: { ...h.admin.orgs, updateMember: (o: string, u: string, body: Record<string, unknown>) => (sent.push([o, u, body]), h.admin.orgs.updateMember(o, u, body)) } };
  const v = view(api);
  await select(v, "hooli");
  await v.press("e");
  const pick = await v.waitFrame("Whose role or caps in hooli?");
  expect(pick).toContain("› alice (owner)");
  expect(pick).toMatch(/ {3}bob \(member\)/);
  await v.press(KEY.down);
  await v.waitFrame("› bob (member)");
  await v.press(KEY.enter);
  const f = await v.waitFrame("Member bob of hooli");
  expect(f).toContain("‹ member ›");
  expect(f).toMatch(/Monthly spend\s+500/);
  expect(f).toMatch(/Requests\/min\s+30/);
  // Role member → admin; clear the monthly spend; leave the rest; enter on the last field submits.
  await v.press(KEY.right, KEY.down, KEY.backspace, KEY.backspace, KEY.backspace, KEY.down, KEY.down, KEY.down, KEY.enter);
  await v.waitReport(/bob in hooli updated: role, monthlySpend/);
  expect(sent).toEqual([["hooli", "bob", { role: "admin", monthlySpend: null }]]);
  expect((await h.admin.orgs.get("hooli")).members.find((m: { name: string }) => m.name === "bob")).toMatchObject({ role: "admin", monthlySpend: null, rpm: 30 });

  // The last owner cannot be demoted: the refusal shows in the form and on the status line.
  await v.press("e", KEY.enter);
  await v.waitFrame("Member alice of hooli");
  await v.press(KEY.right, KEY.down, KEY.down, KEY.down, KEY.down, KEY.enter);
  const refused = await v.waitReport(/last owner/);
  expect(refused.kind).toBe("error");
  await v.waitFrame((fr) => fr.includes("Member alice of hooli") && fr.includes("last owner"));
  v.unmount();
});

test("removing a member asks first; the last owner's removal is refused on the status line", async () => {
  await org("umbrella");
  await h.admin.orgs.addMember("umbrella", { user: "bob", role: "member" });
  const v = view();
  await select(v, "umbrella");
  await v.press("r");
  await v.waitFrame("Remove whom from umbrella?");
  await v.press(KEY.enter);
  await v.waitFrame("Remove alice (owner) from umbrella?");
  await v.press("y");
  expect(await v.waitReport(/This is the organization's last owner/)).toMatchObject({ kind: "error" });

  await v.press("r", KEY.down, KEY.enter);
  await v.waitFrame("Remove bob (member) from umbrella?");
  await v.press("n");
  await v.waitFrame((f) => !f.includes("Remove bob"));
  expect((await h.admin.orgs.get("umbrella")).members).toHaveLength(2);
  await v.press("r", KEY.down, KEY.enter, "y");
  await v.waitReport(/bob removed from umbrella/);
  await v.waitFrame(/umbrella\s+active\s+0\s+0\s+0\/10\s+1\s+0/);
  expect((await h.admin.orgs.get("umbrella")).members.map((m: { name: string }) => m.name)).toEqual(["alice"]);
  v.unmount();
});

test("grants credits with a note; the details' ledger shows it", async () => {
  await org("stark");
  const v = view();
  await select(v, "stark");
  await v.press("c");
  await v.waitFrame("Grant credits to stark");
  await v.press("250", KEY.enter, "welcome bonus", KEY.enter);
  await v.waitReport(/granted 250 credits to stark/);
  await v.waitFrame(/stark\s+active\s+250/);
  await v.press(KEY.enter);
  await v.waitFrame(/grant\s+\+250\s+250\s+welcome bonus/);
  expect((await h.admin.orgs.ledger("stark", 5)).data[0]).toMatchObject({ amount: 250, note: "welcome bonus" });
  v.unmount();
});

test("makes a service key and a member's key, each shown once", async () => {
  await org("wayne", { keyReveal: "never" });
  await h.admin.orgs.addMember("wayne", { user: "bob", role: "member" });
  const v = view();
  await select(v, "wayne");
  await v.press("K");
  const pick = await v.waitFrame("New key for wayne");
  expect(pick).toContain("service key (no user behind it)");
  expect(pick).toContain("member key of bob (member)");
  await v.press(KEY.enter);
  await v.waitFrame("New service key for wayne");
  await v.press("ci", ...Array(9).fill(KEY.enter));
  let f = await v.waitFrame("Shown once and write-once");
  const service = f.match(/sk-app-\w{8}_\w{48}/)?.[0];
  expect(service).toBeDefined();
  expect(f).toContain("service key of wayne");
  await v.press(KEY.esc);
  await v.waitFrame((fr) => !fr.includes(service!) && /wayne\s+active/.test(fr));

  await v.press("K", KEY.down, KEY.down, KEY.enter);
  await v.waitFrame("New key of bob in wayne");
  await v.press("laptop", ...Array(8).fill(KEY.enter));
  await v.waitFrame("blank = what the member's role holds");
  await v.press(KEY.enter);
  f = await v.waitFrame("bob's member key in wayne");
  const member = f.match(/sk-app-\w{8}_\w{48}/)?.[0];
  expect(member).toBeDefined();
  await v.press(KEY.enter);
  await v.waitFrame(/wayne\s+active\s+0\s+0\s+0\/10\s+2\s+2/);

  const bob = await h.admin.users.get("bob");
  const keys = (await h.admin.keys.list(undefined, "wayne")).data;
  expect(keys).toMatchObject([
    { kind: "service", userId: null, label: "ci", revealable: false, scopes: ["full"] },
    { kind: "member", userId: bob.id, label: "laptop", revealable: false },
  ]);
  expect(service!.startsWith(keys[0]!.prefix)).toBe(true);
  expect(member!.startsWith(keys[1]!.prefix)).toBe(true);
  v.unmount();
});

test("suspend and resume ask first", async () => {
  await org("cyberdyne");
  const v = view();
  await select(v, "cyberdyne");
  await v.press("x");
  await v.waitFrame("Suspend cyberdyne? Its keys get 403 org_suspended at once");
  await v.press("n");
  await v.waitFrame((f) => !f.includes("Suspend cyberdyne?"));
  expect((await h.admin.orgs.get("cyberdyne")).suspended).toBe(false);
  await v.press("x", "y");
  await v.waitReport(/org cyberdyne suspended/);
  await v.waitFrame(/cyberdyne\s+suspended/);
  expect((await h.admin.orgs.get("cyberdyne")).suspended).toBe(true);
  await v.press("x");
  await v.waitFrame("Resume cyberdyne?");
  await v.press("y");
  await v.waitReport(/org cyberdyne resumed/);
  await waitFor(() => h.admin.orgs.get("cyberdyne").then((o) => (o.suspended ? undefined : true)), "the org to be resumed");
  v.unmount();
});

test("filters by name and by member", async () => {
  const v = view();
  await v.waitFrame("globex");
  await v.press("/", "carol");
  await v.waitFrame((f) => f.includes("/ filter by name, member: carol▏") && f.includes("globex") && !f.includes("acme"));
  await v.press(KEY.esc, "/", "acm");
  await v.waitFrame((f) => f.includes("acme") && !f.includes("globex"));
  v.unmount();
});

test("edit or remove in an org without members says so instead of an empty picker", async () => {
  await h.admin.orgs.create({ name: "emptyco" });
  const v = view();
  await select(v, "emptyco");
  await v.press("e");
  await v.waitReport(/emptyco has no members yet: press a to add one/);
  expect(v.frame()).not.toContain("Whose role");
  v.unmount();
});
