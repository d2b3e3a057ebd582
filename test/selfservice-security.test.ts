import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bearer, startRelay, userWithKey, type Harness } from "./support/harness";
import { expectError } from "./support/expect-error";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
});
afterAll(() => h.close());

function call(method: string, path: string, token: string | null, body?: unknown) {
  return fetch(`${h.url}${path}`, {
    method,
    headers: { ...(token ? bearer(token) : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function account(name: string) {
  const k = await userWithKey(h, name);
  await h.admin.users.update(name, { password: "correct horse battery" });
  const res = await fetch(`${h.url}/v1/auth/login`, { method: "POST", body: JSON.stringify({ name, password: "correct horse battery" }) });
  return { ...k, session: ((await res.json()) as any).token as string };
}

const keyWith = async (user: string, scopes: string[]) => (await h.admin.keys.create({ user, label: scopes.join("+"), scopes })).key as string;

describe("authentication is required", () => {
  test("every self-service route refuses a missing token", async () => {
    for (const [method, path] of [["GET", "/v1/keys"], ["POST", "/v1/keys"], ["GET", "/v1/keys/1"], ["PATCH", "/v1/keys/1"], ["DELETE", "/v1/keys/1"], ["POST", "/v1/keys/1/reveal"], ["GET", "/v1/usage"]] as const) {
      await expectError(await call(method, path, null, method === "POST" || method === "PATCH" ? {} : undefined), 401, "invalid_api_key");
    }
  });
});

describe("scopes", () => {
  test("keys:read may list but not write", async () => {
    await account("sc-read");
    const read = await keyWith("sc-read", ["keys:read"]);
    const target = (await h.admin.keys.create({ user: "sc-read", label: "target" })).id;
    expect((await call("GET", "/v1/keys", read)).status).toBe(200);
    expect((await call("GET", `/v1/keys/${target}`, read)).status).toBe(200);
    await expectError(await call("POST", "/v1/keys", read, { scopes: ["keys:read"] }), 403, "insufficient_scope");
    await expectError(await call("PATCH", `/v1/keys/${target}`, read, { label: "x" }), 403, "insufficient_scope");
    await expectError(await call("DELETE", `/v1/keys/${target}`, read), 403, "insufficient_scope");
    await expectError(await call("GET", "/v1/usage", read), 403, "insufficient_scope");
  });

  test("keys:write may write but not list; inference-only may do neither", async () => {
    await account("sc-write");
    const write = await keyWith("sc-write", ["keys:write"]);
    const inference = await keyWith("sc-write", ["inference"]);
    await expectError(await call("GET", "/v1/keys", write), 403, "insufficient_scope");
    const created = await call("POST", "/v1/keys", write, { scopes: ["keys:write"] });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as any).id;
    expect((await call("PATCH", `/v1/keys/${id}`, write, { label: "renamed" })).status).toBe(200);
    expect((await call("DELETE", `/v1/keys/${id}`, write)).status).toBe(200);
    await expectError(await call("GET", "/v1/keys", inference), 403, "insufficient_scope");
    await expectError(await call("POST", "/v1/keys", inference, { scopes: ["inference"] }), 403, "insufficient_scope");
  });

  test("a key can never grant a scope it lacks, on create or on update", async () => {
    await account("sc-grant");
    const write = await keyWith("sc-grant", ["keys:write", "keys:read"]);
    const sibling = (await h.admin.keys.create({ user: "sc-grant", label: "sibling", scopes: ["keys:read"] })).id;
    for (const scopes of [["inference"], ["usage:read"], ["full"], ["keys:read", "inference"]]) {
      const body = await expectError(await call("POST", "/v1/keys", write, { scopes }), 403, "insufficient_scope");
      expect(body.error.param).toBe("scopes");
      await expectError(await call("PATCH", `/v1/keys/${sibling}`, write, { scopes }), 403, "insufficient_scope");
    }
    // Omitted scopes default to `full`, which this key cannot grant either.
    await expectError(await call("POST", "/v1/keys", write, { label: "no scopes" }), 403, "insufficient_scope");
    expect((await call("POST", "/v1/keys", write, { scopes: ["keys:read"] })).status).toBe(201);
    const full = await keyWith("sc-grant", ["full"]);
    expect((await call("POST", "/v1/keys", full, { scopes: ["inference", "usage:read"] })).status).toBe(201);
  });
});

describe("other users' keys are 404, never 403", () => {
  test("every /v1/keys route, with a session and with a full API key", async () => {
    const alice = await account("iso-alice");
    const bob = await account("iso-bob");
    for (const token of [alice.session, alice.key]) {
      const id = bob.keyId;
      await expectError(await call("GET", `/v1/keys/${id}`, token), 404, "not_found");
      await expectError(await call("PATCH", `/v1/keys/${id}`, token, { label: "pwned" }), 404, "not_found");
      await expectError(await call("PATCH", `/v1/keys/${id}`, token, { enabled: false }), 404, "not_found");
      await expectError(await call("DELETE", `/v1/keys/${id}`, token), 404, "not_found");
      await expectError(await call("GET", `/v1/usage?key_id=${id}`, token), 404, "not_found");
      const missing = await expectError(await call("GET", `/v1/keys/999999`, token), 404, "not_found");
      expect(missing.error.message).not.toContain("iso-bob");
    }
    await expectError(await call("POST", `/v1/keys/${bob.keyId}/reveal`, alice.session), 404, "not_found");
    for (const junk of ["abc", "0", "-1", "1.5", "1e3", "99999999999999999999"]) {
      await expectError(await call("GET", `/v1/keys/${junk}`, alice.session), 404, "not_found");
    }
    const still = await h.admin.keys.get(bob.keyId);
    expect(still.label).toBe("iso-bob-key");
    expect(still.enabled).toBe(true);
    expect((await call("GET", "/v1/me", bob.key)).status).toBe(200);
  });
});

describe("mass assignment", () => {
  test("unknown fields are 400 on create, update and login, and nothing is written", async () => {
    const a = await account("mass-a");
    const b = await account("mass-b");
    const before = (await h.admin.keys.list("mass-a")).data.length;
    const attempts = [{ user_id: b.user.id }, { userId: b.user.id }, { hash: "0".repeat(64) }, { balance: 1e9 }, { spent: -100 }, { credits: 5 }, { publicId: "AAAAAAAA" }, { id: 1 }];
    for (const extra of attempts) {
      for (const token of [a.session, a.key]) {
        const c = await expectError(await call("POST", "/v1/keys", token, { label: "x", ...extra }), 400, "invalid_request");
        expect(c.error.message).toContain(Object.keys(extra)[0]!);
        await expectError(await call("PATCH", `/v1/keys/${a.keyId}`, token, { label: "x", ...extra }), 400, "invalid_request");
      }
    }
    await expectError(await call("POST", "/v1/auth/login", null, { name: "mass-a", password: "correct horse battery", role: "admin" }), 400, "invalid_request");
    expect((await h.admin.keys.list("mass-a")).data.length).toBe(before);
    expect((await h.admin.keys.list("mass-b")).data.length).toBe(1);
    const key = await h.admin.keys.get(a.keyId);
    expect(key.label).toBe("mass-a-key");
    expect(key.spent).toBe(0);
    expect((await h.admin.users.get("mass-a")).credits).toBe(0);
  });

  test("wrong types and bad bodies are 400s", async () => {
    const a = await account("mass-types");
    for (const body of [{ scopes: "full" }, { scopes: [] }, { scopes: ["admin"] }, { spendLimit: -1 }, { allowIps: ["not-an-ip"] }, { expiresAt: "tomorrow" }, { enabled: "yes" }]) {
      await expectError(await call("POST", "/v1/keys", a.session, body), 400, "invalid_request");
    }
    const raw = await fetch(`${h.url}/v1/keys`, { method: "POST", headers: { ...bearer(a.session), "content-type": "application/json" }, body: "{" });
    await expectError(raw, 400, "invalid_request");
    await expectError(await call("POST", "/v1/keys", a.session, [1]), 400, "invalid_request");
  });
});
