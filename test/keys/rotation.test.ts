import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { setLogLevel, setLogSink } from "../../server/log";
import { bearer, startRelay, userWithKey, type Harness } from "../support/harness";
import { api, sessionOf } from "../orgs/support";

/**
 * Key rotation with overlap (issue 16 §4), over a real relay on loopback: the admin socket, the CLI as a
 * process, the self-service and org APIs. The old key works until now + overlap and is then refused as
 * expired; the successor copies its settings.
 */
let h: Harness;
const lines: string[] = [];
beforeAll(async () => {
  h = await startRelay();
  // Every log line of the whole file, at the most verbose level: no plaintext may appear in any.
  setLogSink((l) => lines.push(l));
  setLogLevel("debug");
});
afterAll(async () => {
  setLogSink((line) => process.stderr.write(line + "\n"));
  setLogLevel("silent");
  await h.close();
});

const plaintexts: string[] = [];
const me = (key: string) => fetch(`${h.url}/v1/me`, { headers: bearer(key) });
async function status(key: string): Promise<{ status: number; code?: string }> {
  const res = await me(key);
  const body = (await res.json()) as any;
  return res.ok ? { status: res.status } : { status: res.status, code: body.error.code };
}
/** Rotates over the admin socket, remembering the new plaintext for the log check. */
async function rotate(id: number, body: { overlap?: string } = {}) {
  const r = await h.admin.keys.rotate(id, body);
  plaintexts.push(r.key);
  return r;
}
const aboutIn = (iso: string, ms: number) => expect(Math.abs(Date.parse(iso) - (Date.now() + ms))).toBeLessThan(5000);

describe("admin socket", () => {
  test("the new key has the old one's settings and a suffixed label; both work during the overlap", async () => {
    const settings = {
      group: "official", allowIps: ["127.0.0.0/8", "::1/128", "::ffff:127.0.0.0/104"], models: ["gpt-a", "gpt-b"], spendLimit: 500, rpm: 60, tpm: 6000,
      scopes: ["inference", "keys:read", "usage:read"], expiresAt: "2099-01-01T00:00:00Z",
    };
    const old = await userWithKey(h, "ann", {}, { label: "ci", ...settings });
    plaintexts.push(old.key);
    const r = await rotate(old.keyId, { overlap: "1h" });
    expect(r.id).not.toBe(old.keyId);
    expect(r).toMatchObject({
      label: "ci (rotated)", kind: "personal", userId: old.user.id, accountId: old.user.accountId, enabled: true, status: "active",
      group: "official", allowIps: settings.allowIps, models: settings.models, spendLimit: 500, rpm: 60, tpm: 6000, spent: 0,
      scopes: settings.scopes, expiresAt: "2099-01-01T00:00:00.000Z", revealable: true, rotatedFrom: { id: old.keyId },
    });
    expect(r.key).toStartWith(r.prefix);
    aboutIn(r.rotatedFrom.expiresAt, 3_600_000);
    expect(await status(r.key)).toEqual({ status: 200 });
    expect(await status(old.key)).toEqual({ status: 200 });
    const before = await h.admin.keys.get(old.keyId);
    expect(before).toMatchObject({ status: "expiring", expiresAt: r.rotatedFrom.expiresAt, label: "ci" });
    // Listed side by side, the old one marked as expiring; the plaintext is in no list.
    const list = (await h.admin.keys.list("ann")).data;
    expect(list.map((k) => [k.id, k.status])).toEqual([[old.keyId, "expiring"], [r.id, "active"]]);
    expect(JSON.stringify(list)).not.toContain(r.key);
    // Rotating the successor again keeps one suffix.
    const again = await rotate(r.id, { overlap: "0" });
    expect(again.label).toBe("ci (rotated)");
  });

  test("the old key is refused as expired once the overlap ends; a sooner expiry is kept", async () => {
    const old = await userWithKey(h, "bea");
    plaintexts.push(old.key);
    const r = await rotate(old.keyId, { overlap: "1s" });
    expect(await status(old.key)).toEqual({ status: 200 });
    await Bun.sleep(1300);
    expect(await status(old.key)).toEqual({ status: 401, code: "key_expired" });
    expect(await status(r.key)).toEqual({ status: 200 });
    expect((await h.admin.keys.get(old.keyId)).status).toBe("expired");

    const soon = new Date(Date.now() + 60_000).toISOString();
    const short = await h.admin.keys.create({ user: "bea", label: "short", expiresAt: soon });
    plaintexts.push(short.key);
    const r2 = await rotate(short.id, { overlap: "2d" });
    expect(Date.parse(r2.rotatedFrom.expiresAt)).toBe(Date.parse(soon));
    expect(r2.expiresAt).toBe(new Date(Date.parse(soon)).toISOString());
  });

  test("a disabled, expired or unknown key is not rotated; a bad overlap is invalid_request on overlap", async () => {
    const k = await userWithKey(h, "cid");
    plaintexts.push(k.key);
    await h.admin.keys.update(k.keyId, { enabled: false });
    await expect(h.admin.keys.rotate(k.keyId)).rejects.toMatchObject({ status: 400, code: "invalid_request" });
    await expect(h.admin.keys.rotate(999_999)).rejects.toMatchObject({ status: 404, code: "not_found" });
    await h.admin.keys.update(k.keyId, { enabled: true });
    for (const overlap of ["5x", "31d", "-1h", "", "1h 30m"]) {
      await expect(h.admin.keys.rotate(k.keyId, { overlap })).rejects.toMatchObject({ status: 400, code: "invalid_request", message: expect.stringContaining("30d") });
    }
    expect((await h.admin.keys.list("cid")).data).toHaveLength(1);
  });

  test("a hash-imported key (relay keeps no copy) rotates into a write-once key", async () => {
    await h.admin.users.create({ name: "imp" });
    const imported = await h.admin.keys.import({ user: "imp", label: "legacy", sha256: createHash("sha256").update("legacy-key-0123456789").digest("hex") });
    expect(imported.revealable).toBe(false);
    const r = await rotate(imported.id);
    expect(r).toMatchObject({ label: "legacy (rotated)", revealable: false });
    aboutIn(r.rotatedFrom.expiresAt, 86_400_000);
    await expect(h.admin.keys.reveal(r.id)).rejects.toMatchObject({ code: "reveal_disabled" });
  });

  test("the rotation is audited with actor, both key ids and the overlap, and without the plaintext", async () => {
    const old = await userWithKey(h, "dan");
    plaintexts.push(old.key);
    const r = await rotate(old.keyId, { overlap: "90m" });
    const rows = (await h.admin.audit(50)).data.filter((a) => a.action === "key.rotate" && a.target === `key:${old.keyId}`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: "admin:socket",
      detail: { oldKeyId: old.keyId, newKeyId: r.id, overlapSeconds: 5400, oldExpiresAt: r.rotatedFrom.expiresAt, accountId: old.user.accountId, revealable: true },
    });
    expect(JSON.stringify(rows)).not.toContain(r.key);
  });
});

describe("relay admin key rotate (the real process)", () => {
  const main = join(import.meta.dir, "../../server/main.ts");
  async function relay(args: string[]) {
    const p = Bun.spawn(["bun", main, ...args], {
      env: { ...process.env, RELAY_DATA_DIR: h.dataDir, RELAY_ADMIN_SOCKET: h.socketPath, RELAY_LOG_LEVEL: "silent" },
      stdin: "ignore", stdout: "pipe", stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { out, err, code };
  }

  test("--overlap 0 stops the old key at once; the new key is printed once", async () => {
    const old = await userWithKey(h, "eve", {}, { label: "deploy" });
    plaintexts.push(old.key);
    const r = await relay(["admin", "key", "rotate", String(old.keyId), "--overlap", "0", "--json"]);
    expect(r).toMatchObject({ code: 0, err: "" });
    const k = JSON.parse(r.out);
    plaintexts.push(k.key);
    expect(k).toMatchObject({ label: "deploy (rotated)", rotatedFrom: { id: old.keyId } });
    expect(await status(old.key)).toEqual({ status: 401, code: "key_expired" });
    expect(await status(k.key)).toEqual({ status: 200 });

    const text = await relay(["admin", "key", "rotate", String(k.id)]);
    expect(text.code).toBe(0);
    const printed = text.out.split("\n").find((l) => l.startsWith("key "))!.split(/\s+/)[1]!;
    plaintexts.push(printed);
    expect(text.out).toContain(`key ${k.id} keeps working until `);
    expect(text.out.split(printed)).toHaveLength(2);
  });

  test("a bad --overlap is a usage error (exit 2) that names the forms and the cap; nothing is rotated", async () => {
    const old = await userWithKey(h, "fay");
    plaintexts.push(old.key);
    for (const bad of ["5x", "31d", "24"]) {
      const r = await relay(["admin", "key", "rotate", String(old.keyId), "--overlap", bad]);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toContain("at most 30d");
    }
    expect((await h.admin.keys.list("fay")).data).toHaveLength(1);
  });
});

describe("self-service: POST /v1/keys/{id}/rotate", () => {
  const post = (token: string, path: string, body?: unknown) => api(h, token, "POST", path, body);

  test("a user rotates their own key (default overlap 24h); another user's key is a 404", async () => {
    const gus = await userWithKey(h, "gus", {}, { label: "laptop", models: ["gpt-a"] });
    const hal = await userWithKey(h, "hal");
    plaintexts.push(gus.key, hal.key);
    const session = await sessionOf(h, "gus");
    const r = await post(session, `/v1/keys/${gus.keyId}/rotate`);
    expect(r.status).toBe(201);
    plaintexts.push(r.body.key);
    expect(r.body).toMatchObject({ label: "laptop (rotated)", models: ["gpt-a"], userId: gus.user.id, rotatedFrom: { id: gus.keyId } });
    aboutIn(r.body.rotatedFrom.expiresAt, 86_400_000);
    expect(await status(r.body.key)).toEqual({ status: 200 });
    expect(await status(gus.key)).toEqual({ status: 200 });

    // With the key itself too (keys:write), and another user's id is as unknown as a missing one.
    const byKey = await post(gus.key, `/v1/keys/${r.body.id}/rotate`, { overlap: "30m" });
    expect(byKey.status).toBe(201);
    plaintexts.push(byKey.body.key);
    for (const id of [hal.keyId, 999_999]) {
      const other = await post(session, `/v1/keys/${id}/rotate`, { overlap: "1h" });
      expect(other).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
    }
    expect(await status(hal.key)).toEqual({ status: 200 });
    expect((await h.admin.keys.list("hal")).data).toHaveLength(1);
    const audit = (await h.admin.audit(20)).data.find((a) => a.action === "key.rotate" && a.detail.newKeyId === r.body.id);
    expect(audit).toMatchObject({ actor: "user:gus", detail: { oldKeyId: gus.keyId, overlapSeconds: 86_400 } });
  });

  test("bad overlaps are 400 invalid_request with param overlap; scopes and the keys:write scope are enforced", async () => {
    const ivy = await userWithKey(h, "ivy");
    plaintexts.push(ivy.key);
    for (const overlap of ["5x", "31d", 42, null, "1w"]) {
      const r = await post(ivy.key, `/v1/keys/${ivy.keyId}/rotate`, { overlap });
      expect(r).toMatchObject({ status: 400, body: { error: { code: "invalid_request", param: "overlap" } } });
    }
    const unknown = await post(ivy.key, `/v1/keys/${ivy.keyId}/rotate`, { overlap: "1h", label: "x" });
    expect(unknown).toMatchObject({ status: 400, body: { error: { code: "invalid_request" } } });
    // A narrower key cannot mint a full-scope successor, and a key without keys:write cannot rotate at all.
    const narrow = await h.admin.keys.create({ user: "ivy", label: "narrow", scopes: ["inference", "keys:write"] });
    const readOnly = await h.admin.keys.create({ user: "ivy", label: "ro", scopes: ["keys:read"] });
    plaintexts.push(narrow.key, readOnly.key);
    expect(await post(narrow.key, `/v1/keys/${ivy.keyId}/rotate`, {})).toMatchObject({ status: 403, body: { error: { code: "insufficient_scope" } } });
    expect(await post(readOnly.key, `/v1/keys/${readOnly.id}/rotate`, {})).toMatchObject({ status: 403, body: { error: { code: "insufficient_scope" } } });
    expect((await post(narrow.key, `/v1/keys/${narrow.id}/rotate`, { overlap: "0" })).status).toBe(201);
    expect((await h.admin.keys.list("ivy")).data).toHaveLength(4);
  });
});

describe("org keys: POST /v1/orgs/{orgId}/api-keys/{id}/rotate", () => {
  test("an org admin rotates a member's key and a service key; a member only their own", async () => {
    for (const name of ["owl", "pam", "rex"]) await h.admin.users.create({ name });
    const org = await h.admin.orgs.create({ name: "rot-org", owner: "owl" });
    await h.admin.orgs.addMember("rot-org", { user: "pam", role: "admin" });
    await h.admin.orgs.addMember("rot-org", { user: "rex", role: "member" });
    const [admin, member] = [await sessionOf(h, "pam"), await sessionOf(h, "rex")];
    const memberKey = (await api(h, member, "POST", `/v1/orgs/${org.id}/api-keys/create`, { name: "rex-ci", scopes: ["inference"], rpm: 5 })).body;
    const serviceKey = (await api(h, admin, "POST", `/v1/orgs/${org.id}/api-keys/create`, { name: "svc", service: true, scopes: ["inference"] })).body;
    plaintexts.push(memberKey.key, serviceKey.key);

    const r = await api(h, admin, "POST", `/v1/orgs/${org.id}/api-keys/${memberKey.id}/rotate`, { overlap: "10m" });
    expect(r.status).toBe(201);
    plaintexts.push(r.body.key);
    expect(r.body).toMatchObject({ kind: "member", userId: memberKey.userId, accountId: org.id, name: "rex-ci (rotated)", keyPrefix: r.body.prefix, rpm: 5, scopes: ["inference"], rotatedFrom: { id: memberKey.id } });
    aboutIn(r.body.rotatedFrom.expiresAt, 600_000);
    expect(await status(r.body.key)).toEqual({ status: 200 });
    expect(await status(memberKey.key)).toEqual({ status: 200 });

    const svc = await api(h, admin, "POST", `/v1/orgs/${org.id}/api-keys/${serviceKey.id}/rotate`, { overlap: "0" });
    expect(svc.status).toBe(201);
    plaintexts.push(svc.body.key);
    expect(svc.body).toMatchObject({ kind: "service", name: "svc (rotated)" });
    expect(await status(serviceKey.key)).toEqual({ status: 401, code: "key_expired" });

    // A member rotates their own member key, not the org's service key; an outsider sees no org.
    expect(await api(h, member, "POST", `/v1/orgs/${org.id}/api-keys/${svc.body.id}/rotate`, {})).toMatchObject({ status: 403, body: { error: { code: "insufficient_scope" } } });
    const own = await api(h, member, "POST", `/v1/orgs/${org.id}/api-keys/${r.body.id}/rotate`, {});
    expect(own.status).toBe(201);
    plaintexts.push(own.body.key);
    const outsider = await userWithKey(h, "out");
    plaintexts.push(outsider.key);
    expect(await api(h, outsider.key, "POST", `/v1/orgs/${org.id}/api-keys/${r.body.id}/rotate`, {})).toMatchObject({ status: 403, body: { error: { code: "org_forbidden" } } });
    // The org's ids are unknown under /v1/keys.
    expect((await api(h, outsider.key, "POST", `/v1/keys/${r.body.id}/rotate`, {})).status).toBe(404);
  });
});

describe("write-once deployments", () => {
  test("RELAY_KEY_REVEAL=never: a key rotates into a write-once key", async () => {
    const once = await startRelay({ RELAY_KEY_REVEAL: "never" });
    try {
      const k = await userWithKey(once, "wo");
      plaintexts.push(k.key);
      const r = await once.admin.keys.rotate(k.keyId, { overlap: "5m" });
      plaintexts.push(r.key);
      expect(r).toMatchObject({ revealable: false, label: "wo-key (rotated)" });
      await expect(once.admin.keys.reveal(r.id)).rejects.toMatchObject({ code: "reveal_disabled" });
      expect((await fetch(`${once.url}/v1/me`, { headers: bearer(r.key) })).status).toBe(200);
    } finally {
      await once.close();
    }
  });
});

test("no key's plaintext appears in any log line", () => {
  expect(lines.length).toBeGreaterThan(0);
  expect(plaintexts.length).toBeGreaterThan(20);
  for (const key of plaintexts) for (const l of lines) expect(l).not.toContain(key);
});
