import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { TEST_MODE } from "../support/harness";
import { sessionOf } from "../orgs/support";
import { api } from "./support";

/**
 * The webhook management API through a real relay: the self-service routes with a user's key, the org
 * routes by role, the refusals (another account's id, bad events and URLs, a member), and the secret:
 * shown at create and rotate only, never listed, stored encrypted.
 */
let h: Harness;
let alice: string;
let bob: string;
const tokens: Record<string, string> = {};
let orgId: number;
beforeAll(async () => {
  h = await startRelay({ RELAY_WEBHOOK_ALLOW_PRIVATE: "true" });
  alice = (await userWithKey(h, "alice")).key;
  bob = (await userWithKey(h, "bob")).key;
  for (const name of ["owner", "orgadmin", "member"]) {
    await h.admin.users.create({ name });
    tokens[name] = await sessionOf(h, name);
  }
  orgId = (await h.admin.orgs.create({ name: "acme", owner: "owner" })).id;
  await h.admin.orgs.addMember("acme", { user: "orgadmin", role: "admin" });
  await h.admin.orgs.addMember("acme", { user: "member", role: "member" });
});
afterAll(() => h.close());

describe("self-service /v1/webhooks", () => {
  test("create returns the whsec_ secret once; list and delete; another account's id is a 404", async () => {
    const made = await api(h, alice, "POST", "/v1/webhooks", { url: "http://127.0.0.1:9/a", events: ["response.completed", "batch.completed"] });
    expect(made.status).toBe(201);
    expect(made.headers.get("cache-control")).toBe("no-store");
    expect(made.body).toMatchObject({ object: "webhook", url: "http://127.0.0.1:9/a", events: ["response.completed", "batch.completed"], enabled: true });
    expect(made.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const list = await api(h, alice, "GET", "/v1/webhooks");
    expect(list.body.data.map((w: any) => w.id)).toEqual([made.body.id]);
    expect(JSON.stringify(list.body)).not.toContain("whsec_");
    expect(list.body.data[0].secret).toBeUndefined();
    // Bob sees none of Alice's, and her id is as unknown to him as a missing one.
    expect((await api(h, bob, "GET", "/v1/webhooks")).body.data).toEqual([]);
    for (const [method, path] of [["DELETE", `/v1/webhooks/${made.body.id}`], ["POST", `/v1/webhooks/${made.body.id}/rotate`], ["DELETE", "/v1/webhooks/999999"], ["DELETE", "/v1/webhooks/abc"]] as const) {
      const r = await api(h, bob, method, path);
      expect({ path, status: r.status, code: r.body.error.code }).toEqual({ path, status: 404, code: "not_found" });
    }
    expect((await api(h, alice, "DELETE", `/v1/webhooks/${made.body.id}`)).body).toEqual({ id: made.body.id, object: "webhook", deleted: true });
    expect((await api(h, alice, "GET", "/v1/webhooks")).body.data).toEqual([]);
    expect((await api(h, alice, "DELETE", `/v1/webhooks/${made.body.id}`)).status).toBe(404);
  });

  test("rotate returns a new secret and says until when the old one signs", async () => {
    const made = (await api(h, alice, "POST", "/v1/webhooks", { url: "http://127.0.0.1:9/r", events: ["batch.failed"] })).body;
    const r = await api(h, alice, "POST", `/v1/webhooks/${made.id}/rotate`);
    expect(r.status).toBe(200);
    expect(r.body.secret).toMatch(/^whsec_/);
    expect(r.body.secret).not.toBe(made.secret);
    expect(r.body.previous_secret_expires_at - Math.floor(Date.now() / 1000)).toBeGreaterThan(23 * 3600);
    await api(h, alice, "DELETE", `/v1/webhooks/${made.id}`);
  });

  test("bad events, URLs and thresholds are 400 invalid_request naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ url: "http://127.0.0.1:9/x", events: ["response.done"] }, "events.0"],
      [{ url: "http://127.0.0.1:9/x", events: [] }, "events"],
      [{ url: "http://127.0.0.1:9/x" }, "events"],
      [{ url: "ftp://127.0.0.1/x", events: ["batch.failed"] }, "url"],
      [{ url: "not a url", events: ["batch.failed"] }, "url"],
      [{ url: "http://u:p@127.0.0.1:9/x", events: ["batch.failed"] }, "url"],
      [{ url: "http://127.0.0.1:9/x", events: ["credits.low"] }, "credits_below"],
      [{ url: "http://127.0.0.1:9/x", events: ["batch.failed"], credits_below: 5 }, "credits_below"],
      [{ url: "http://127.0.0.1:9/x", events: ["credits.low"], credits_below: 1.5 }, "credits_below"],
      [{ url: "http://127.0.0.1:9/x", events: ["batch.failed"], secret: "whsec_mine" }, ""],
    ];
    for (const [body, param] of cases) {
      const r = await api(h, alice, "POST", "/v1/webhooks", body);
      expect({ body, status: r.status, code: r.body.error.code }).toEqual({ body, status: 400, code: "invalid_request" });
      if (param) expect({ body, param: r.body.error.param }).toEqual({ body, param });
      expect(r.headers.get("x-request-id")).toBeTruthy();
    }
    expect((await api(h, alice, "GET", "/v1/webhooks")).body.data).toEqual([]);
  });

  test("a key without keys:write may list but not change; without a key, 401", async () => {
    const readOnly = (await h.admin.keys.create({ user: "alice", label: "ro", scopes: ["keys:read"] })).key as string;
    expect((await api(h, readOnly, "GET", "/v1/webhooks")).status).toBe(200);
    const r = await api(h, readOnly, "POST", "/v1/webhooks", { url: "http://127.0.0.1:9/x", events: ["batch.failed"] });
    expect([r.status, r.body.error.code]).toEqual([403, "insufficient_scope"]);
    const anon = await fetch(`${h.url}/v1/webhooks`);
    expect(anon.status).toBe(401);
  });
});

describe("/v1/orgs/{orgId}/webhooks", () => {
  test("owners and admins manage the org's endpoints; a member gets 403; another org's id 403 org_forbidden", async () => {
    const made = await api(h, tokens.orgadmin!, "POST", `/v1/orgs/${orgId}/webhooks`, { url: "http://127.0.0.1:9/org", events: ["credits.low"], credits_below: 100 });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ url: "http://127.0.0.1:9/org", events: ["credits.low"], credits_below: 100 });
    expect(made.body.secret).toMatch(/^whsec_/);
    const listed = await api(h, tokens.owner!, "GET", `/v1/orgs/${orgId}/webhooks`);
    expect(listed.body.data.map((w: any) => w.id)).toEqual([made.body.id]);
    expect(JSON.stringify(listed.body)).not.toContain("whsec_");
    for (const [method, path] of [["GET", ""], ["POST", ""], ["DELETE", `/${made.body.id}`], ["POST", `/${made.body.id}/rotate`]] as const) {
      const r = await api(h, tokens.member!, method, `/v1/orgs/${orgId}/webhooks${path}`, method === "POST" && !path ? { url: "http://127.0.0.1:9/m", events: ["batch.failed"] } : undefined);
      expect({ method, path, status: r.status, code: r.body.error.code }).toEqual({ method, path, status: 403, code: "insufficient_scope" });
    }
    // Alice is in no org: the org's routes are closed to her, and the org's endpoint is not in her list.
    expect((await api(h, alice, "GET", `/v1/orgs/${orgId}/webhooks`)).body.error.code).toBe("org_forbidden");
    expect((await api(h, alice, "DELETE", `/v1/webhooks/${made.body.id}`)).status).toBe(404);
    // The org's endpoint is not the owner's personal one either.
    expect((await api(h, tokens.owner!, "DELETE", `/v1/webhooks/${made.body.id}`)).status).toBe(404);
    expect((await api(h, tokens.owner!, "POST", `/v1/orgs/${orgId}/webhooks/${made.body.id}/rotate`)).body.secret).toMatch(/^whsec_/);
    expect((await api(h, tokens.owner!, "DELETE", `/v1/orgs/${orgId}/webhooks/${made.body.id}`)).status).toBe(200);
  });
});

describe("secrets at rest", () => {
  test.skipIf(TEST_MODE !== "embedded")("the SQLite file holds no whsec_ secret, before and after a rotation", async () => {
    const made = (await api(h, alice, "POST", "/v1/webhooks", { url: "http://127.0.0.1:9/s", events: ["batch.failed"] })).body;
    const rotated = (await api(h, alice, "POST", `/v1/webhooks/${made.id}/rotate`)).body;
    const file = join(h.dataDir, "relay.db");
    const db = new Database(file, { readonly: true });
    const row = db.query("SELECT secret_ciphertext, previous_secret_ciphertext FROM webhooks WHERE id = ?").get(made.id) as Record<string, string>;
    db.close();
    expect(row.secret_ciphertext).toMatch(/^v1\.mk_/);
    expect(row.previous_secret_ciphertext).toMatch(/^v1\.mk_/);
    // Neither the prefix nor the base64 of either secret is anywhere in the file or its write-ahead log.
    const bytes = Buffer.concat([await Bun.file(file).bytes(), ...(await Bun.file(`${file}-wal`).exists() ? [await Bun.file(`${file}-wal`).bytes()] : [])]).toString("latin1");
    expect(bytes).not.toContain("whsec_");
    for (const s of [made.secret, rotated.secret]) expect(bytes).not.toContain(s.slice(6, 30));
  });
});

describe("without RELAY_WEBHOOK_ALLOW_PRIVATE", () => {
  test("loopback, private, link-local and metadata URLs are refused at create with a clear 400", async () => {
    const strict = await startRelay();
    try {
      const key = (await userWithKey(strict, "carol")).key;
      for (const url of ["http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]/x", "http://10.0.0.1/x", "http://169.254.169.254/latest", "http://metadata.google.internal/", "http://[fd00:ec2::254]/", "http://100.64.0.1/", "http://0.0.0.0/"]) {
        const r = await api(strict, key, "POST", "/v1/webhooks", { url, events: ["batch.failed"] });
        expect({ url, status: r.status, code: r.body.error.code, param: r.body.error.param }).toEqual({ url, status: 400, code: "invalid_request", param: "url" });
        expect(r.body.error.message).toContain("RELAY_WEBHOOK_ALLOW_PRIVATE");
      }
      // A public address is accepted (nothing is sent: no event is queued).
      expect((await api(strict, key, "POST", "/v1/webhooks", { url: "https://8.8.8.8/hook", events: ["batch.failed"] })).status).toBe(201);
    } finally {
      await strict.close();
    }
  });
});
