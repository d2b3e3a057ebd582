import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { eq } from "drizzle-orm";
import { SignJWT, decodeJwt } from "jose";
import { bearer, startRelay, userWithKey, type Harness } from "./support/harness";
import { loadConfig } from "../server/config";
import { startServer } from "../server/serve";
import { settings } from "../db/schema";
import { Keyring } from "../server/keyring/keyring";
import { passwordVersion, signSession } from "../server/sessions/jwt";
import { SESSION_SECRET_SETTING } from "../server/sessions/secret";
import { LoginLimiter } from "../server/sessions/limiter";
import { getUserByName } from "../server/users/service";
import { expectError } from "./support/expect-error";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
});
afterAll(() => h.close());

const me = (url: string, token: string) => fetch(`${url}/v1/me`, { headers: bearer(token) });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

async function loginAs(url: string, name: string, password: string): Promise<string> {
  const res = await fetch(`${url}/v1/auth/login`, { method: "POST", body: JSON.stringify({ name, password }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as any).token;
}

async function session(name: string) {
  await userWithKey(h, name);
  await h.admin.users.update(name, { password: "correct horse battery" });
  const token = await loginAs(h.url, name, "correct horse battery");
  return { token, claims: decodeJwt(token), user: await getUserByName(h.ctx, name) };
}

describe("tampered tokens are rejected with 401", () => {
  test("the genuine token works and carries sub, iat, exp and jti", async () => {
    const { token, claims, user } = await session("jwt-genuine");
    expect((await me(h.url, token)).status).toBe(200);
    expect(claims.sub).toBe(String(user.id));
    expect(typeof claims.jti).toBe("string");
    expect(claims.exp! - claims.iat!).toBe(900);
  });

  test("wrong signature: signed with another secret", async () => {
    const { claims } = await session("jwt-wrongsig");
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(crypto.getRandomValues(new Uint8Array(32)));
    await expectError(await me(h.url, forged), 401, "invalid_session");
  });

  test("payload changed to another user, signature kept", async () => {
    const victim = await session("jwt-victim");
    const { token } = await session("jwt-attacker");
    const [header, , sig] = token.split(".");
    const forged = `${header}.${b64({ ...decodeJwt(token), sub: victim.claims.sub })}.${sig}`;
    await expectError(await me(h.url, forged), 401, "invalid_session");
  });

  test("alg none, with and without a signature part", async () => {
    const { claims, token } = await session("jwt-none");
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
    await expectError(await me(h.url, unsigned), 401, "invalid_session");
    await expectError(await me(h.url, unsigned.slice(0, -1)), 401, "invalid_session");
    const withOldSig = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.${token.split(".")[2]}`;
    await expectError(await me(h.url, withOldSig), 401, "invalid_session");
  });

  test("another algorithm with the right secret is refused", async () => {
    const { claims } = await session("jwt-hs512");
    const secret = h.ctx.sessions.secret;
    const other = await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(secret);
    await expectError(await me(h.url, other), 401, "invalid_session");
  });

  test("expired, even though correctly signed", async () => {
    const { user } = await session("jwt-expired");
    const secret = h.ctx.sessions.secret;
    const old = await signSession(secret, user.id, passwordVersion(user.passwordHash!), 60, Date.now() - 3_600_000);
    const body = await expectError(await me(h.url, old.token), 401, "invalid_session");
    expect(body.error.message).toContain("expired");
  });

  test("wrong audience or issuer, or a sub that is no user, correctly signed", async () => {
    const { claims, user } = await session("jwt-claims");
    const secret = h.ctx.sessions.secret;
    const sign = (c: Record<string, unknown>) => new SignJWT({ ...claims, ...c }).setProtectedHeader({ alg: "HS256" }).sign(secret);
    await expectError(await me(h.url, await sign({ aud: "something-else" })), 401, "invalid_session");
    await expectError(await me(h.url, await sign({ iss: "someone-else" })), 401, "invalid_session");
    await expectError(await me(h.url, await sign({ sub: "999999" })), 401, "invalid_session");
    await expectError(await me(h.url, await sign({ sub: `${user.id}.0` })), 401, "invalid_session");
    await expectError(await me(h.url, await sign({ pwv: "not-the-version" })), 401, "invalid_session");
  });

  test("garbage that merely starts with eyJ", async () => {
    for (const t of ["eyJ", "eyJ.eyJ.x", "eyJhbGciOiJIUzI1NiJ9.@@@.x"]) await expectError(await me(h.url, t), 401, "invalid_session");
  });
});

describe("signing secret", () => {
  test("is stored encrypted under the current master key and survives rotation and restart", async () => {
    const t = await startRelay();
    const dir = t.dataDir;
    try {
      await userWithKey(t, "persist");
      await t.admin.users.update("persist", { password: "correct horse battery" });
      const token = await loginAs(t.url, "persist", "correct horse battery");
      const row = () => t.ctx.db!.select().from(settings).where(eq(settings.key, SESSION_SECRET_SETTING)).get()!.value;
      expect(row()).not.toContain(Buffer.from(t.ctx.sessions.secret).toString("base64"));
      expect(Keyring.keyIdOf(row())).toBe(t.ctx.keyring.currentId());

      const rotated = await t.admin.rotateMasterKey();
      expect(Keyring.keyIdOf(row())).toBe(rotated.current);
      expect((await me(t.url, token)).status).toBe(200);

      await t.stop(1000); // not close(): the data dir must outlive this server
      const again = await startServer(loadConfig({ RELAY_DATA_DIR: dir, RELAY_PORT: "0", RELAY_LOG_LEVEL: "silent" }));
      try {
        expect((await me(again.url, token)).status).toBe(200);
      } finally {
        await again.stop(1000);
      }
    } finally {
      await t.stop(1000); // idempotent
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("login limiter", () => {
  test("free failures cost nothing, then the delay doubles up to its cap", () => {
    const l = new LoginLimiter({ freeFailures: 2, baseDelayMs: 100, maxDelayMs: 1000 });
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map((f) => l.delayFor(f))).toEqual([0, 0, 0, 100, 200, 400, 800, 1000, 1000]);
    expect(l.delayFor(3, 10)).toBe(0);
    expect(l.delayFor(11, 10)).toBe(100);
  });

  test("locks a name after its limit and forgets after the window", () => {
    const l = new LoginLimiter({ maxFailuresPerName: 2, maxFailuresPerIp: 100, windowMs: 60_000 });
    l.begin("n", "1.1.1.1", 0);
    l.begin("n", "1.1.1.1", 1000);
    expect(() => l.begin("n", "2.2.2.2", 2000)).toThrow(/too many/i);
    expect(() => l.begin("n", "2.2.2.2", 62_000)).not.toThrow();
  });
});
