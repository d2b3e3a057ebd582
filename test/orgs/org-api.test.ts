import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { relayWithMocks } from "../support/relay-fixture";
import { api, sessionOf } from "./support";

/**
 * The org API through a real server: the role table cell by cell, membership changes on the next request,
 * service keys surviving them, and other orgs' keys and ids getting 403 org_forbidden.
 */
let f: Awaited<ReturnType<typeof relayWithMocks>>;
const tokens: Record<string, string> = {};
let orgId: number;
let otherOrgId: number;
beforeAll(async () => {
  f = await relayWithMocks(1);
  await f.channel(f.mocks[0]!);
  for (const name of ["owner", "admin", "member", "billing", "outsider"]) {
    await f.h.admin.users.create({ name });
    tokens[name] = await sessionOf(f.h, name);
  }
  const created = await api(f.h, tokens.owner!, "POST", "/v1/orgs", { name: "acme" });
  expect(created.status).toBe(201);
  orgId = created.body.id;
  for (const role of ["admin", "member", "billing"]) {
    expect((await api(f.h, tokens.owner!, "POST", `/v1/orgs/${orgId}/members`, { user: role, role })).status).toBe(201);
  }
  await f.h.admin.orgs.grant("acme", { amount: 1000 });
  otherOrgId = (await api(f.h, tokens.outsider!, "POST", "/v1/orgs", { name: "other" })).body.id;
});
afterAll(() => f.close());

const ROLES = ["owner", "admin", "member", "billing"] as const;
const userIds = async () => Object.fromEntries((await f.h.admin.users.list()).data.map((u) => [u.name, u.id as number]));

describe("the role table", () => {
  test("reads: members, keys, usage, ledger", async () => {
    const want = {
      "GET members": { owner: 200, admin: 200, member: 403, billing: 403 },
      "GET api-keys": { owner: 200, admin: 200, member: 200, billing: 403 },
      "GET usage": { owner: 200, admin: 200, member: 403, billing: 200 },
      "GET ledger": { owner: 200, admin: 200, member: 403, billing: 200 },
      "GET org": { owner: 200, admin: 200, member: 200, billing: 200 },
    } as const;
    const paths = { "GET members": "members", "GET api-keys": "api-keys", "GET usage": "usage", "GET ledger": "ledger", "GET org": "" } as const;
    for (const [what, cells] of Object.entries(want)) {
      for (const role of ROLES) {
        const r = await api(f.h, tokens[role]!, "GET", `/v1/orgs/${orgId}${paths[what as keyof typeof paths] ? `/${paths[what as keyof typeof paths]}` : ""}`);
        expect({ what, role, status: r.status }).toEqual({ what, role, status: cells[role] });
        if (r.status === 403) expect(r.body.error.code).toBe("insufficient_scope");
      }
    }
  });

  test("keys: members make and revoke their own member keys; only owners and admins make service keys or revoke others'", async () => {
    const made: Record<string, number> = {};
    for (const role of ROLES) {
      const r = await api(f.h, tokens[role]!, "POST", `/v1/orgs/${orgId}/api-keys/create`, { name: `${role}-key`, scopes: ["inference"] });
      expect({ role, status: r.status }).toEqual({ role, status: role === "billing" ? 403 : 201 });
      if (r.status === 201) {
        expect(r.body).toMatchObject({ name: `${role}-key`, kind: "member" });
        expect(r.body.keyPrefix).toBe(r.body.key.slice(0, r.body.keyPrefix.length));
        made[role] = r.body.id;
      }
    }
    for (const role of ROLES) {
      const r = await api(f.h, tokens[role]!, "POST", `/v1/orgs/${orgId}/api-keys/create`, { name: `${role}-svc`, service: true, scopes: ["inference"] });
      expect({ role, status: r.status }).toEqual({ role, status: role === "owner" || role === "admin" ? 201 : 403 });
    }
    // A member sees only their own keys; owners and admins all of the org's.
    const seen = (await api(f.h, tokens.member!, "GET", `/v1/orgs/${orgId}/api-keys`)).body.data.map((k: any) => k.name);
    expect(seen).toEqual(["member-key"]);
    expect((await api(f.h, tokens.admin!, "GET", `/v1/orgs/${orgId}/api-keys`)).body.data.length).toBe(5);
    // A member may not revoke the owner's key, but may revoke their own; an admin may revoke any.
    expect((await api(f.h, tokens.member!, "DELETE", `/v1/orgs/${orgId}/api-keys/${made.owner}`)).status).toBe(403);
    expect((await api(f.h, tokens.member!, "DELETE", `/v1/orgs/${orgId}/api-keys/${made.member}`)).status).toBe(200);
    expect((await api(f.h, tokens.admin!, "DELETE", `/v1/orgs/${orgId}/api-keys/${made.owner}`)).status).toBe(200);
  });

  test("a key is never granted more than its creator holds in the org", async () => {
    const r = await api(f.h, tokens.member!, "POST", `/v1/orgs/${orgId}/api-keys/create`, { name: "too-much", scopes: ["members:write"] });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("insufficient_scope");
    // Full, for a member, is every scope: more than the role holds.
    expect((await api(f.h, tokens.member!, "POST", `/v1/orgs/${orgId}/api-keys/create`, { name: "full" })).status).toBe(403);
  });

  test("members: admins manage members but not owners; only owners make owners; the last owner stays", async () => {
    await f.h.admin.users.create({ name: "newbie" });
    const ids = await userIds();
    expect((await api(f.h, tokens.member!, "POST", `/v1/orgs/${orgId}/members`, { user: "newbie", role: "member" })).status).toBe(403);
    expect((await api(f.h, tokens.admin!, "POST", `/v1/orgs/${orgId}/members`, { user: "newbie", role: "owner" })).status).toBe(403);
    expect((await api(f.h, tokens.admin!, "POST", `/v1/orgs/${orgId}/members`, { user: "newbie", role: "member", monthlySpend: 5 })).status).toBe(201);
    expect((await api(f.h, tokens.admin!, "PATCH", `/v1/orgs/${orgId}/members/${ids.owner}`, { role: "member" })).status).toBe(403);
    const last = await api(f.h, tokens.owner!, "PATCH", `/v1/orgs/${orgId}/members/${ids.owner}`, { role: "member" });
    expect({ status: last.status, code: last.body.error.code }).toEqual({ status: 409, code: "conflict" });
    expect((await api(f.h, tokens.owner!, "DELETE", `/v1/orgs/${orgId}/members/${ids.owner}`)).status).toBe(409);
    expect((await api(f.h, tokens.admin!, "DELETE", `/v1/orgs/${orgId}/members/${ids.newbie}`)).status).toBe(200);
    expect((await api(f.h, tokens.billing!, "GET", `/v1/orgs/${orgId}/members`)).status).toBe(403);
  });
});

describe("owners only", () => {
  test("rename the org, set key reveal, delete it (once it holds no credits)", async () => {
    const made = await api(f.h, tokens.owner!, "POST", "/v1/orgs", { name: "temp-org" });
    const id = made.body.id;
    for (const role of ["admin", "member", "billing"] as const) {
      await f.h.admin.orgs.addMember("temp-org", { user: role, role });
      for (const [method, body] of [["PATCH", { name: "x" }], ["DELETE", undefined]] as const) {
        const r = await api(f.h, tokens[role]!, method, `/v1/orgs/${id}`, body);
        expect({ role, method, status: r.status, code: r.body.error?.code }).toEqual({ role, method, status: 403, code: "insufficient_scope" });
      }
    }
    const renamed = await api(f.h, tokens.owner!, "PATCH", `/v1/orgs/${id}`, { name: "temp-renamed", keyReveal: "never" });
    expect({ status: renamed.status, name: renamed.body.name }).toEqual({ status: 200, name: "temp-renamed" });
    expect((await f.h.admin.orgs.get("temp-renamed")).keyReveal).toBe("never");
    // The operator's settings are not the owner's: strict body, 400.
    expect((await api(f.h, tokens.owner!, "PATCH", `/v1/orgs/${id}`, { concurrency: 1000 })).status).toBe(400);
    await f.h.admin.orgs.grant("temp-renamed", { amount: 5 });
    const held = await api(f.h, tokens.owner!, "DELETE", `/v1/orgs/${id}`);
    expect({ status: held.status, code: held.body.error.code }).toEqual({ status: 409, code: "conflict" });
    await f.h.admin.orgs.grant("temp-renamed", { amount: -5 });
    expect((await api(f.h, tokens.owner!, "DELETE", `/v1/orgs/${id}`)).body).toEqual({ object: "organization", id, deleted: true });
    expect((await api(f.h, tokens.owner!, "GET", `/v1/orgs/${id}`)).status).toBe(403);
  });
});

describe("membership changes reach the next request", () => {
  test("a removed member's key stops; a demoted member's key narrows; a service key survives both", async () => {
    await f.h.admin.users.create({ name: "leaver" });
    const leaverSession = await sessionOf(f.h, "leaver");
    await f.h.admin.orgs.addMember("acme", { user: "leaver", role: "admin" });
    const own = (await api(f.h, leaverSession, "POST", `/v1/orgs/${orgId}/api-keys/create`, { name: "leaver-member", scopes: ["inference", "members:read"] })).body.key;
    const svc = (await api(f.h, leaverSession, "POST", `/v1/orgs/${orgId}/api-keys/create`, { name: "leaver-svc", service: true, scopes: ["inference", "members:read"] })).body.key;
    const chat = (key: string) => fetch(`${f.h.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-test", messages: [{ role: "user", content: "hi" }] }) });
    expect((await api(f.h, own, "GET", `/v1/orgs/${orgId}/members`)).status).toBe(200);
    await f.h.admin.orgs.updateMember("acme", "leaver", { role: "member" }); // demoted: members:read is gone
    expect((await api(f.h, own, "GET", `/v1/orgs/${orgId}/members`)).status).toBe(403);
    expect((await chat(own)).status).toBe(200);
    await f.h.admin.orgs.removeMember("acme", "leaver");
    const gone = await chat(own);
    expect(gone.status).toBe(401);
    expect(((await gone.json()) as any).error.code).toBe("key_disabled");
    expect((await chat(svc)).status).toBe(200);
    expect((await api(f.h, svc, "GET", `/v1/orgs/${orgId}/members`)).status).toBe(200);
  });
});

describe("other orgs", () => {
  test("another org's key, a non-member and an unknown org id all get 403 org_forbidden, never the data", async () => {
    const otherKey = (await api(f.h, tokens.outsider!, "POST", `/v1/orgs/${otherOrgId}/api-keys/create`, { name: "theirs", scopes: ["inference", "keys:read"] })).body.key;
    for (const [token, id] of [[otherKey, orgId], [tokens.outsider!, orgId], [tokens.owner!, otherOrgId], [tokens.owner!, 99999]] as const) {
      for (const path of ["", "/members", "/api-keys", "/usage", "/ledger"]) {
        const r = await api(f.h, token, "GET", `/v1/orgs/${id}${path}`);
        expect({ path, status: r.status, code: r.body.error.code }).toEqual({ path, status: 403, code: "org_forbidden" });
      }
    }
    // An id of another org's key, through one's own org: 404, the same as a missing one.
    const theirId = (await api(f.h, tokens.outsider!, "GET", `/v1/orgs/${otherOrgId}/api-keys`)).body.data[0].id;
    expect((await api(f.h, tokens.owner!, "DELETE", `/v1/orgs/${orgId}/api-keys/${theirId}`)).status).toBe(404);
  });

  test("GET /v1/orgs lists the caller's orgs with role and balance; /v1/me shows memberships and an org key's org", async () => {
    const mine = (await api(f.h, tokens.owner!, "GET", "/v1/orgs")).body.data;
    expect(mine).toEqual([expect.objectContaining({ id: orgId, name: "acme", role: "owner", balance: 1000 })]);
    const me = (await api(f.h, tokens.owner!, "GET", "/v1/me")).body;
    expect(me.memberships).toEqual([{ orgId, name: "acme", role: "owner" }]);
    const key = (await api(f.h, tokens.owner!, "POST", `/v1/orgs/${orgId}/api-keys/create`, { name: "me-key", scopes: ["inference", "usage:read"] })).body.key;
    const viaKey = (await api(f.h, key, "GET", "/v1/me")).body;
    expect(viaKey).toMatchObject({ keyKind: "member", org: { id: orgId, name: "acme", role: "owner" }, balance: 1000, scopes: ["inference", "usage:read"] });
    expect((await api(f.h, key, "GET", "/v1/keys")).body.error.code).toBe("org_forbidden");
  });
});
