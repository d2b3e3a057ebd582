import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { bearer, startRelay, userWithKey, type Harness } from "./support/harness";
import { setLoginLimits } from "../server/sessions/state";
import { expectError } from "./support/expect-error";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
});
afterAll(() => h.close());

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${h.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
const me = (token: string) => fetch(`${h.url}/v1/me`, { headers: bearer(token) });

async function userWithPassword(name: string, password = "correct horse battery") {
  const k = await userWithKey(h, name);
  await h.admin.users.update(name, { password });
  return { ...k, password };
}

async function loginAs(name: string, password: string): Promise<string> {
  const res = await post({ name, password });
  expect(res.status).toBe(200);
  return ((await res.json()) as any).token;
}

describe("login", () => {
  test("right password: a Bearer JWT with its expiry, usable on /v1/me as a session", async () => {
    const u = await userWithPassword("login-ok");
    const before = Date.now();
    const res = await post({ name: "login-ok", password: u.password });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as any;
    expect(body.token_type).toBe("Bearer");
    expect(body.token).toStartWith("eyJ");
    expect(body.expires_in).toBe(900);
    const exp = Date.parse(body.expires_at);
    expect(exp).toBeGreaterThan(before + 890_000);
    expect(exp).toBeLessThan(Date.now() + 901_000);

    const m = await me(body.token);
    expect(m.status).toBe(200);
    const mb = (await m.json()) as any;
    expect(mb.auth).toBe("session");
    expect(mb.user.name).toBe("login-ok");
    expect(mb.key).toBeNull();
    expect(mb.scopes.sort()).toEqual(["billing:read", "inference", "keys:read", "keys:write", "members:read", "members:write", "usage:read"]);
    expect(mb).toHaveProperty("balance");
  });

  test("wrong password, unknown user and user without password all get the same 401", async () => {
    await userWithPassword("login-wrong");
    await userWithKey(h, "login-nopass");
    const a = await post({ name: "login-wrong", password: "not the password" });
    const b = await post({ name: "login-nobody", password: "not the password" });
    const c = await post({ name: "login-nopass", password: "not the password" });
    const bodies = [];
    for (const r of [a, b, c]) bodies.push((await expectError(r, 401, "invalid_credentials")).error);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
  });

  test("a disabled user cannot log in", async () => {
    const u = await userWithPassword("login-disabled");
    await h.admin.users.update("login-disabled", { enabled: false });
    await expectError(await post({ name: "login-disabled", password: u.password }), 401, "key_disabled");
  });

  test("malformed bodies are 400s; an oversized one a 413", async () => {
    await expectError(await post({ name: "x" }), 400, "invalid_request");
    await expectError(await post({ name: "x", password: "y", role: "admin" }), 400, "invalid_request");
    await expectError(await post([1, 2]), 400, "invalid_request");
    const raw = await fetch(`${h.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    await expectError(raw, 400, "invalid_request");
    await expectError(await post({ name: "x", password: "y".repeat(20_000) }), 413, "payload_too_large");
  });
});

describe("lock-out", () => {
  test("failures for one name are refused with 429 and Retry-After, even with the right password", async () => {
    const t = await startRelay();
    try {
      setLoginLimits(t.ctx, { freeFailures: 1, baseDelayMs: 1, maxDelayMs: 4, maxFailuresPerName: 3, maxFailuresPerIp: 1000 });
      await userWithKey(t, "victim");
      await t.admin.users.update("victim", { password: "right password" });
      await userWithKey(t, "bystander");
      await t.admin.users.update("bystander", { password: "right password" });
      const attempt = (name: string, password: string) =>
        fetch(`${t.url}/v1/auth/login`, { method: "POST", body: JSON.stringify({ name, password }) });
      for (let i = 0; i < 3; i++) await expectError(await attempt("victim", "wrong"), 401, "invalid_credentials");
      const locked = await attempt("victim", "right password");
      await expectError(locked, 429, "too_many_attempts");
      expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
      // Another name from the same IP is unaffected.
      expect((await attempt("bystander", "right password")).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  test("failures from one IP lock it out across names; unknown names count too", async () => {
    const t = await startRelay();
    try {
      setLoginLimits(t.ctx, { freeFailures: 0, freeFailuresPerIp: 0, baseDelayMs: 1, maxDelayMs: 2, maxFailuresPerName: 1000, maxFailuresPerIp: 4 });
      await userWithKey(t, "ipuser");
      await t.admin.users.update("ipuser", { password: "right password" });
      const attempt = (name: string, password: string) =>
        fetch(`${t.url}/v1/auth/login`, { method: "POST", body: JSON.stringify({ name, password }) });
      for (const name of ["a", "b", "c", "d"]) await expectError(await attempt(name, "guess"), 401, "invalid_credentials");
      await expectError(await attempt("ipuser", "right password"), 429, "too_many_attempts");
    } finally {
      await t.close();
    }
  });

  test("a parallel burst cannot slip past the limit", async () => {
    const t = await startRelay();
    try {
      setLoginLimits(t.ctx, { freeFailures: 3, baseDelayMs: 1, maxDelayMs: 1, maxFailuresPerName: 3, maxFailuresPerIp: 1000 });
      await userWithKey(t, "burst");
      await t.admin.users.update("burst", { password: "right password" });
      const results = await Promise.all(
        Array.from({ length: 12 }, () => fetch(`${t.url}/v1/auth/login`, { method: "POST", body: JSON.stringify({ name: "burst", password: "guess" }) })),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 401).length).toBe(3);
      expect(statuses.filter((s) => s === 429).length).toBe(9);
    } finally {
      await t.close();
    }
  });

  test("a success clears the name's failures", async () => {
    const t = await startRelay();
    try {
      setLoginLimits(t.ctx, { freeFailures: 0, baseDelayMs: 1, maxDelayMs: 2, maxFailuresPerName: 3, maxFailuresPerIp: 1000 });
      await userWithKey(t, "forgetful");
      await t.admin.users.update("forgetful", { password: "right password" });
      const attempt = (password: string) =>
        fetch(`${t.url}/v1/auth/login`, { method: "POST", body: JSON.stringify({ name: "forgetful", password }) });
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 2; i++) expect((await attempt("wrong")).status).toBe(401);
        expect((await attempt("right password")).status).toBe(200);
      }
    } finally {
      await t.close();
    }
  });
});

describe("session tokens", () => {
  test("a session ends as soon as its user is disabled, and works again when re-enabled", async () => {
    const u = await userWithPassword("sess-disable");
    const token = await loginAs("sess-disable", u.password);
    expect((await me(token)).status).toBe(200);
    await h.admin.users.update("sess-disable", { enabled: false });
    await expectError(await me(token), 401, "key_disabled");
    await h.admin.users.update("sess-disable", { enabled: true });
    expect((await me(token)).status).toBe(200);
  });

  test("setting a new password ends sessions issued under the old one", async () => {
    const u = await userWithPassword("sess-newpass");
    const token = await loginAs("sess-newpass", u.password);
    expect((await me(token)).status).toBe(200);
    await h.admin.users.update("sess-newpass", { password: "a brand new password" });
    await expectError(await me(token), 401, "invalid_session");
    expect((await me(await loginAs("sess-newpass", "a brand new password"))).status).toBe(200);
  });

  test("a session token is accepted on the other self-service routes", async () => {
    const u = await userWithPassword("sess-routes");
    const token = await loginAs("sess-routes", u.password);
    expect((await fetch(`${h.url}/v1/keys`, { headers: bearer(token) })).status).toBe(200);
    expect((await fetch(`${h.url}/v1/usage`, { headers: bearer(token) })).status).toBe(200);
  });
});
