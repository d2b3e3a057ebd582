import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { bearer, startRelay, userWithKey, type Harness } from "./support/harness";
import { expectError } from "./support/expect-error";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
});
afterAll(() => h.close());

const me = (headers: Record<string, string>) => fetch(`${h.url}/v1/me`, { headers });

describe("authentication", () => {
  test("a valid key reaches /v1/me with its user and key, no secret", async () => {
    const { key, prefix } = await userWithKey(h, "valid");
    const res = await me(bearer(key));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(key.split("_")[1]!);
    const body = JSON.parse(text);
    expect(body.user.name).toBe("valid");
    expect(body.key.prefix).toBe(prefix);
  });

  test("malformed Authorization values get 401 invalid_api_key", async () => {
    const { key } = await userWithKey(h, "malformed");
    const bad = [
      {},
      { authorization: "" },
      { authorization: key },
      { authorization: `Basic ${key}` },
      { authorization: `Bearer ${key.replace("sk-app-", "sk-xyz-")}` },
      { authorization: `Bearer ${key}x` },
      { authorization: `Bearer ${key.slice(0, -1)}` },
      { authorization: `Bearer ${key.slice(0, -1)}!` },
      { authorization: `Bearer ${key}, Bearer ${key}` },
      { authorization: `Bearer  ${key}` },
    ];
    for (const headers of bad) await expectError(await me(headers as Record<string, string>), 401, "invalid_api_key");
  });

  test("two Authorization headers are rejected", async () => {
    const { key } = await userWithKey(h, "twoheaders");
    const headers = new Headers();
    headers.append("authorization", `Bearer ${key}`);
    headers.append("authorization", `Bearer ${key}`);
    await expectError(await fetch(`${h.url}/v1/me`, { headers }), 401, "invalid_api_key");
  });

  test("unknown key and wrong secret give byte-identical bodies", async () => {
    const { key } = await userWithKey(h, "identical");
    const wrongSecret = key.slice(0, -4) + (key.endsWith("AAAA") ? "BBBB" : "AAAA");
    const unknownId = "sk-app-ZZZZZZZZ_" + key.split("_")[1];
    const a = await me(bearer(wrongSecret));
    const b = await me(bearer(unknownId));
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect(await a.text()).toBe(await b.text());
  });

  test("disabled key, disabled user, expired key", async () => {
    const k = await userWithKey(h, "states");
    await h.admin.keys.update(k.keyId, { enabled: false });
    await expectError(await me(bearer(k.key)), 401, "key_disabled");
    await h.admin.keys.update(k.keyId, { enabled: true });
    expect((await me(bearer(k.key))).status).toBe(200);
    await h.admin.users.update("states", { enabled: false });
    await expectError(await me(bearer(k.key)), 401, "key_disabled");
    await h.admin.users.update("states", { enabled: true });
    // An expiry in the past is refused, so the key gets one just ahead and is used once it has passed.
    await h.admin.keys.update(k.keyId, { expiresAt: new Date(Date.now() + 200).toISOString() });
    await Bun.sleep(250);
    await expectError(await me(bearer(k.key)), 401, "key_expired");
  });

  test("an expiry in the past is refused with 400, saying what to do", async () => {
    const k = await userWithKey(h, "past");
    const err = await h.admin.keys.update(k.keyId, { expiresAt: "2000-01-01T00:00:00Z" }).catch((e) => e);
    expect(err).toMatchObject({ status: 400, code: "invalid_request" });
    expect(err.message).toContain("in the past");
    expect(await h.admin.keys.create({ user: "past", label: "x", expiresAt: "2000-01-01" }).catch((e) => e.status)).toBe(400);
    const bad = await h.admin.keys.update(k.keyId, { expiresAt: "tomorrow" }).catch((e) => e);
    expect(bad.message).toContain("ISO 8601");
    expect(bad.message).toContain("2026-12-31T23:59:59Z");
  });

  test("disabled is checked before expired", async () => {
    const k = await userWithKey(h, "order", {}, { expiresAt: new Date(Date.now() + 200).toISOString() });
    await Bun.sleep(250);
    await h.admin.keys.update(k.keyId, { enabled: false });
    await expectError(await me(bearer(k.key)), 401, "key_disabled");
  });

  test("IP allow-list: outside gets 403 ip_not_allowed, inside passes", async () => {
    const out = await userWithKey(h, "ipout", {}, { allowIps: ["10.0.0.0/8", "2001:db8::/32"] });
    await expectError(await me(bearer(out.key)), 403, "ip_not_allowed");
    const inside = await userWithKey(h, "ipin", {}, { allowIps: ["127.0.0.0/8"] });
    expect((await me(bearer(inside.key))).status).toBe(200);
  });

  test("revocation takes effect on the very next request with the cache warm", async () => {
    const k = await userWithKey(h, "revoke");
    for (let i = 0; i < 3; i++) expect((await me(bearer(k.key))).status).toBe(200);
    await h.admin.keys.delete(k.keyId);
    await expectError(await me(bearer(k.key)), 401, "invalid_api_key");
  });

  test("a disable written by another process is seen on the next request", async () => {
    const k = await userWithKey(h, "otherproc");
    expect((await me(bearer(k.key))).status).toBe(200);
    const { Database } = await import("bun:sqlite");
    const other = new Database(join(h.dataDir, "relay.db"));
    other.run("UPDATE api_keys SET enabled = 0 WHERE id = ?", [k.keyId]);
    other.close();
    await expectError(await me(bearer(k.key)), 401, "key_disabled");
  });

  test("unknown routes are JSON 404s with a request id", async () => {
    await expectError(await fetch(`${h.url}/nope`), 404, "not_found");
  });

  test("the plaintext key is not in the database file", async () => {
    const k = await userWithKey(h, "plaintext");
    expect((await h.admin.keys.reveal(k.keyId)).key).toBe(k.key);
    h.ctx.writer.flush();
    h.ctx.db!.$client.run("PRAGMA wal_checkpoint(FULL)");
    const secret = k.key.split("_")[1]!;
    for (const f of readdirSync(h.dataDir).filter((f) => f.startsWith("relay.db"))) {
      const bytes = readFileSync(join(h.dataDir, f));
      expect(bytes.includes(Buffer.from(secret))).toBe(false);
      expect(bytes.includes(Buffer.from(k.key))).toBe(false);
    }
  });
});

describe("X-Forwarded-For", () => {
  test("ignored from an untrusted peer", async () => {
    const k = await userWithKey(h, "xff-untrusted", {}, { allowIps: ["203.0.113.7/32"] });
    await expectError(await me({ ...bearer(k.key), "x-forwarded-for": "203.0.113.7" }), 403, "ip_not_allowed");
  });

  test("used from a trusted proxy, right to left, and ::ffff: is normalised", async () => {
    const t = await startRelay({ RELAY_TRUSTED_PROXIES: "127.0.0.1/32,10.0.0.0/8" });
    try {
      const k = await userWithKey(t, "xff-trusted", {}, { allowIps: ["203.0.113.7/32"] });
      const ok = await fetch(`${t.url}/v1/me`, { headers: { ...bearer(k.key), "x-forwarded-for": "1.2.3.4, ::ffff:203.0.113.7, 10.1.1.1" } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as any).ip).toBe("203.0.113.7");
      const spoof = await fetch(`${t.url}/v1/me`, { headers: { ...bearer(k.key), "x-forwarded-for": "203.0.113.7, 9.9.9.9" } });
      expect(spoof.status).toBe(403);
    } finally {
      await t.close();
    }
  });
});

describe("logs", () => {
  test("no key or secret appears in a log line", async () => {
    const { setLogSink, setLogLevel } = await import("../server/log");
    const lines: string[] = [];
    setLogSink((l) => lines.push(l));
    setLogLevel("debug");
    try {
      const k = await userWithKey(h, "logged");
      await me(bearer(k.key));
      await me(bearer(k.key.slice(0, -1) + "Z"));
      await fetch(`${h.url}/v1/chat/completions`, { method: "POST", headers: bearer(k.key), body: "{broken" });
      const { log } = await import("../server/log");
      log.error("simulated failure", { header: `Bearer ${k.key}`, raw: k.key });
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l).not.toContain(k.key.split("_")[1]!);
    } finally {
      setLogSink((line) => process.stderr.write(line + "\n"));
      setLogLevel("silent");
    }
  });
});
