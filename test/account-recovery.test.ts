import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { expectError } from "./support/expect-error";
import { chat, eventually, post, relayWithMocks } from "./support/relay-fixture";
import { setLoginLimits } from "../server/sessions/state";

/**
 * Account recovery, as the vendor docs tell users after a compromise: change the password (every other
 * session ends), then revoke every key at once (running streams end too) and create new ones.
 */
const root = join(import.meta.dir, "..");
let f: Awaited<ReturnType<typeof relayWithMocks>>;
beforeAll(async () => {
  f = await relayWithMocks(1);
  await f.channel(f.mocks[0]!);
});
afterAll(() => f.close());

const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const withToken = (token: string, body: unknown) => ({ method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

async function loginAs(name: string, password: string): Promise<string> {
  const res = await fetch(`${f.h.url}/v1/auth/login`, json({ name, password }));
  expect(res.status).toBe(200);
  return ((await res.json()) as any).token;
}

describe("POST /v1/auth/password", () => {
  test("changes the password, ends every other session, returns a fresh one; audited", async () => {
    await f.h.admin.users.create({ name: "rec" });
    await f.h.admin.users.update("rec", { password: "old password 1" });
    const mine = await loginAs("rec", "old password 1");
    const other = await loginAs("rec", "old password 1");
    const res = await fetch(`${f.h.url}/v1/auth/password`, withToken(mine, { current: "old password 1", new: "new password 2" }));
    expect(res.status).toBe(200);
    const fresh = ((await res.json()) as any).token;
    await expectError(await fetch(`${f.h.url}/v1/me`, { headers: { authorization: `Bearer ${other}` } }), 401, "invalid_session");
    expect((await fetch(`${f.h.url}/v1/me`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200);
    await expectError(await fetch(`${f.h.url}/v1/auth/login`, json({ name: "rec", password: "old password 1" })), 401, "invalid_credentials");
    await loginAs("rec", "new password 2");
    const audit = (await f.h.admin.audit(50)).data;
    expect(audit.find((r) => r.action === "password.change" && r.target === "user:rec")).toMatchObject({ ip: "127.0.0.1" });
  });

  test("a wrong current password is refused and counts as a failed login", async () => {
    await f.h.admin.users.create({ name: "rec2" });
    await f.h.admin.users.update("rec2", { password: "right password" });
    const token = await loginAs("rec2", "right password");
    setLoginLimits(f.h.ctx, { maxFailuresPerName: 2, freeFailures: 10, baseDelayMs: 1 });
    try {
      for (let i = 0; i < 2; i++) {
        await expectError(await fetch(`${f.h.url}/v1/auth/password`, withToken(token, { current: "wrong", new: "whatever 123" })), 401, "invalid_credentials");
      }
      // Two failures lock the name for logins too.
      await expectError(await fetch(`${f.h.url}/v1/auth/login`, json({ name: "rec2", password: "right password" })), 429, "too_many_attempts");
    } finally {
      setLoginLimits(f.h.ctx, {});
    }
  });

  test("needs a session, and a new password of at least 8 characters", async () => {
    const { key } = await f.userWithKey("rec3");
    await expectError(await fetch(`${f.h.url}/v1/auth/password`, withToken(key, { current: "a", new: "bbbbbbbb" })), 403, "session_required");
    await f.h.admin.users.update("rec3", { password: "right password" });
    const token = await loginAs("rec3", "right password");
    const short = await expectError(await fetch(`${f.h.url}/v1/auth/password`, withToken(token, { current: "right password", new: "short" })), 400, "invalid_request");
    expect(short.error.message).toContain("8");
  });
});

describe("revoking every key at once", () => {
  test("POST /v1/keys/revoke-all (session) deletes them all and ends their running streams", async () => {
    f.mocks[0]!.set({ behavior: "drip", delayMs: 100, chunks: 100 });
    try {
      const { key } = await f.userWithKey("wipe", { concurrency: 5 });
      const second = await f.h.admin.keys.create({ user: "wipe", label: "two" });
      await f.h.admin.users.update("wipe", { password: "wipe password" });
      const token = await loginAs("wipe", "wipe password");
      const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { stream: true }));
      const reader = res.body!.getReader();
      await reader.read();
      await expectError(await post(f.h, key, "/v1/keys/revoke-all", {}), 403, "session_required");
      const revoked = await fetch(`${f.h.url}/v1/keys/revoke-all`, withToken(token, {}));
      expect(((await revoked.json()) as any).deleted).toBe(2);
      let text = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
      expect(text).toContain('"code":"key_revoked"');
      for (const k of [key, second.key]) await expectError(await post(f.h, k, "/v1/chat/completions", chat("gpt-test")), 401, "invalid_api_key");
      expect((await f.h.admin.keys.list("wipe")).data).toEqual([]);
    } finally {
      f.mocks[0]!.set({});
    }
  });

  test("relay admin key delete --user NAME --all, from the CLI", async () => {
    await f.userWithKey("wipe2");
    await f.h.admin.keys.create({ user: "wipe2", label: "b" });
    const p = Bun.spawn(["bun", join(root, "server/main.ts"), "admin", "key", "delete", "--user", "wipe2", "--all"], {
      env: { ...process.env, RELAY_ADMIN_SOCKET: f.h.socketPath, RELAY_DATA_DIR: f.h.dataDir }, stdout: "pipe", stderr: "pipe",
    });
    expect(await p.exited).toBe(0);
    expect(await new Response(p.stdout).text()).toContain("2 key(s) of wipe2 deleted");
    expect((await f.h.admin.keys.list("wipe2")).data).toEqual([]);
    const bad = Bun.spawn(["bun", join(root, "server/main.ts"), "admin", "key", "delete", "--all"], {
      env: { ...process.env, RELAY_ADMIN_SOCKET: f.h.socketPath }, stdout: "pipe", stderr: "pipe",
    });
    expect(await bad.exited).toBe(2);
  });
});
