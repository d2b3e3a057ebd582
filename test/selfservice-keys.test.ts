import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bearer, startRelay, userWithKey, type Harness } from "./support/harness";
import { expectError } from "./support/expect-error";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
});
afterAll(() => h.close());

function call(method: string, path: string, token: string, body?: unknown) {
  return fetch(`${h.url}${path}`, {
    method,
    headers: { ...bearer(token), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A user with a password, a full-scope API key and a live session. */
async function account(name: string, keyFields: Record<string, unknown> = {}) {
  const k = await userWithKey(h, name, {}, keyFields);
  await h.admin.users.update(name, { password: "correct horse battery" });
  const res = await fetch(`${h.url}/v1/auth/login`, { method: "POST", body: JSON.stringify({ name, password: "correct horse battery" }) });
  const session = ((await res.json()) as any).token as string;
  return { ...k, session };
}

async function createKey(token: string, body: Record<string, unknown> = {}) {
  const res = await call("POST", "/v1/keys", token, body);
  expect(res.status).toBe(201);
  return (await res.json()) as any;
}

describe("key management over HTTP", () => {
  test("list shows the caller's keys with public prefixes and no secrets", async () => {
    const a = await account("ss-list");
    const other = await account("ss-list-other");
    const created = await createKey(a.session, { label: "second" });
    for (const token of [a.session, a.key]) {
      const res = await call("GET", "/v1/keys", token);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain(a.key.split("_")[1]!);
      expect(text).not.toContain(created.key.split("_")[1]!);
      expect(text).not.toContain(other.prefix);
      const body = JSON.parse(text);
      expect(body.data.map((k: any) => k.prefix)).toEqual([a.prefix, created.prefix]);
      for (const k of body.data) {
        expect(k).not.toHaveProperty("hash");
        expect(k).not.toHaveProperty("ciphertext");
        expect(k).not.toHaveProperty("key");
      }
    }
  });

  test("create returns the plaintext once with its prefix; the key works at once and stops at once after DELETE", async () => {
    const a = await account("ss-create");
    const k = await createKey(a.key, {
      label: "ci", group: "official", allowIps: ["127.0.0.1/32"], expiresAt: "2999-01-01T00:00:00Z",
      models: ["gpt-x"], spendLimit: 500, scopes: ["inference", "keys:read"],
    });
    expect(k.key).toStartWith(k.prefix + "_");
    expect(k).toMatchObject({ label: "ci", group: "official", allowIps: ["127.0.0.1/32"], models: ["gpt-x"], spendLimit: 500, scopes: ["inference", "keys:read"] });
    expect(k.expiresAt).toBe("2999-01-01T00:00:00.000Z");
    for (let i = 0; i < 3; i++) {
      const res = await call("GET", "/v1/me", k.key);
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).key.id).toBe(k.id);
    }
    const del = await call("DELETE", `/v1/keys/${k.id}`, a.session);
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ id: k.id, object: "key", deleted: true });
    await expectError(await call("GET", "/v1/me", k.key), 401, "invalid_api_key");
  });

  test("PATCH changes label, enabled and limits; disabling takes effect on the next request", async () => {
    const a = await account("ss-patch");
    const k = await createKey(a.session, { label: "before" });
    expect((await call("GET", "/v1/me", k.key)).status).toBe(200);
    const res = await call("PATCH", `/v1/keys/${k.id}`, a.session, { label: "after", spendLimit: 10, models: ["m"], enabled: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: k.id, label: "after", spendLimit: 10, models: ["m"], enabled: false });
    await expectError(await call("GET", "/v1/me", k.key), 401, "key_disabled");
    expect((await call("PATCH", `/v1/keys/${k.id}`, a.key, { enabled: true })).status).toBe(200);
    expect((await call("GET", "/v1/me", k.key)).status).toBe(200);
    const one = await call("GET", `/v1/keys/${k.id}`, a.key);
    expect(((await one.json()) as any).label).toBe("after");
  });

  test("writes are audited with the caller as actor", async () => {
    const a = await account("ss-audit");
    const viaKey = await createKey(a.key, { label: "by-key" });
    const viaSession = await createKey(a.session, { label: "by-session" });
    await call("PATCH", `/v1/keys/${viaKey.id}`, a.session, { label: "renamed" });
    await call("POST", `/v1/keys/${viaKey.id}/reveal`, a.session);
    await call("DELETE", `/v1/keys/${viaSession.id}`, a.key);
    const audit = (await h.admin.audit(50)).data;
    const find = (action: string, target: string) => audit.find((r) => r.action === action && r.target === target)?.actor;
    expect(find("key.create", `key:${viaKey.id}`)).toBe(`key:${a.keyId}`);
    expect(find("key.create", `key:${viaSession.id}`)).toBe("user:ss-audit");
    expect(find("key.update", `key:${viaKey.id}`)).toBe("user:ss-audit");
    expect(find("key.reveal", `key:${viaKey.id}`)).toBe("user:ss-audit");
    expect(find("key.delete", `key:${viaSession.id}`)).toBe(`key:${a.keyId}`);
    expect(JSON.stringify(audit)).not.toContain(viaKey.key);
  });
});

describe("reveal", () => {
  test("refused with an API key (403 session_required), allowed with a session", async () => {
    const a = await account("ss-reveal");
    const k = await createKey(a.session, { label: "to-reveal" });
    await expectError(await call("POST", `/v1/keys/${k.id}/reveal`, a.key), 403, "session_required");
    await expectError(await call("POST", `/v1/keys/${k.id}/reveal`, k.key), 403, "session_required");
    const res = await call("POST", `/v1/keys/${k.id}/reveal`, a.session);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ id: k.id, key: k.key });
  });
});

describe("inference with a key created over HTTP", () => {
  test("works at once, shows up in /v1/usage, and stops at once after DELETE", async () => {
    const { startMockUpstream } = await import("./support/mock-upstream");
    const mock = await startMockUpstream("ss-upstream");
    try {
      await h.admin.channels.create({ name: "ss-chan", baseUrl: `${mock.url}/v1`, apiKey: "upstream-secret", models: ["gpt-4o-mini"] });
      const a = await account("ss-infer");
      await h.admin.credits.grant("ss-infer", { amount: 1_000_000 });
      const k = await createKey(a.session, { label: "infer", scopes: ["inference"] });
      const chat = () => call("POST", "/v1/chat/completions", k.key, { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
      const ok = await chat();
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as any).choices[0].message.content).toContain("ss-upstream");
      // The usage row is written off the request path; poll (bounded) instead of guessing a delay.
      let usage: any;
      for (let i = 0; i < 100; i++) {
        h.ctx.writer.flush();
        usage = await (await call("GET", `/v1/usage?key_id=${k.id}`, a.session)).json();
        if (usage.data.length > 0) break;
        await Bun.sleep(10);
      }
      expect(usage.data.length).toBe(1);
      expect(usage.data[0]).toMatchObject({ keyId: k.id, keyPrefix: k.prefix, model: "gpt-4o-mini", status: 200 });
      expect((await call("DELETE", `/v1/keys/${k.id}`, a.session)).status).toBe(200);
      await expectError(await chat(), 401, "invalid_api_key");
      expect(mock.requests.length).toBe(1);
    } finally {
      await mock.stop();
    }
  });
});
