import { afterAll, beforeAll, expect, test } from "bun:test";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { AuditView } from "../../tui/views/audit-view";
import { KEY, renderView } from "./support";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
  await userWithKey(h, "alice");
});
afterAll(() => h.close());

test("shows the audit log newest first and follows new entries live", async () => {
  const v = renderView(<AuditView api={h.admin} active width={110} height={14} pollMs={50} />);
  let f = await v.waitFrame("key.create");
  expect(f.indexOf("key.create")).toBeLessThan(f.indexOf("user.create"));
  expect(f).toMatch(/admin:socket\s+user\.create\s+user:alice/);
  await h.admin.users.update("alice", { enabled: false });
  f = await v.waitFrame("user.update");
  expect(f.indexOf("user.update")).toBeLessThan(f.indexOf("key.create"));
  v.unmount();
});

test("filters and opens an entry's details", async () => {
  const v = renderView(<AuditView api={h.admin} active width={80} height={14} pollMs={50} />);
  await v.waitFrame("key.create");
  await v.press("/", "accountId");
  await v.waitFrame((f) => f.includes("/ filter by actor, action, target: accountId▏") && f.includes("nothing matches the filter"));
  await v.press(KEY.esc, "/", "key.create", KEY.enter, KEY.enter);
  const f = await v.waitFrame("Audit #");
  expect(f).toMatch(/action\s+key\.create/);
  expect(f).toMatch(/detail\s+\{"accountId":1,"kind":"personal","userId":1/);
  v.unmount();
});

test("self-service actions show the caller's source IP; admin-socket ones show none", async () => {
  await h.admin.users.create({ name: "ipuser" });
  await h.admin.users.update("ipuser", { password: "ip password 1" });
  const login = await fetch(`${h.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "ipuser", password: "ip password 1" }) });
  expect(login.status).toBe(200);
  const v = renderView(<AuditView api={h.admin} active width={120} height={14} pollMs={50} />);
  const f = await v.waitFrame("session.login");
  expect(f).toMatch(/user:ipuser\s+session\.login\s+user:ipuser\s+127\.0\.0\.1/);
  expect(f).toMatch(/admin:socket\s+user\.update\s+user:ipuser\s+-/);
  v.unmount();
});
