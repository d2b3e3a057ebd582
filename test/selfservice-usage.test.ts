import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bearer, startRelay, userWithKey, type Harness } from "./support/harness";
import { usageLog } from "../db/schema";
import { createPublicApp } from "../server/http/app";
import { errorCodes } from "../server/errors";
import { expectError } from "./support/expect-error";

let h: Harness;
let alice: Awaited<ReturnType<typeof userWithKey>>;
let aliceKey2: number;
let bob: Awaited<ReturnType<typeof userWithKey>>;

const at = (iso: string) => Date.parse(iso);
let seq = 0;
function row(user: { id: number; accountId: number }, keyId: number, when: string, prompt: number, completion: number, cost: number) {
  return {
    requestId: `req_test_${++seq}`, at: at(when), userId: user.id, accountId: user.accountId, keyId, keyPrefix: "sk-app-test", endpoint: "chat", model: "gpt-x",
    upstreamModel: "secret-upstream-model", channelId: 7, status: 200, promptTokens: prompt, completionTokens: completion, cost, totalMs: 5,
  };
}

beforeAll(async () => {
  h = await startRelay();
  alice = await userWithKey(h, "u-alice");
  aliceKey2 = (await h.admin.keys.create({ user: "u-alice", label: "second" })).id;
  bob = await userWithKey(h, "u-bob");
  const a = alice.user as { id: number; accountId: number };
  h.ctx.db!.insert(usageLog).values([
    row(a, alice.keyId, "2025-03-01T08:00:00Z", 10, 5, 100),
    row(a, alice.keyId, "2025-03-01T23:59:59Z", 20, 10, 200),
    row(a, aliceKey2, "2025-03-02T00:00:00Z", 1, 1, 7),
    row(a, alice.keyId, "2025-03-05T12:00:00Z", 100, 50, 1000),
    row(bob.user as { id: number; accountId: number }, bob.keyId, "2025-03-01T09:00:00Z", 999, 999, 9999),
  ]).run();
});
afterAll(() => h.close());

const usage = (query: string, key = alice.key) => fetch(`${h.url}/v1/usage?${query}`, { headers: bearer(key) });

describe("GET /v1/usage", () => {
  test("the caller's rows, newest first, with per-day UTC totals; nothing of other users or channels", async () => {
    const res = await usage("from=2025-03-01&to=2025-03-31");
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.from).toBe("2025-03-01T00:00:00.000Z");
    expect(body.to).toBe("2025-04-01T00:00:00.000Z");
    expect(body.data.map((r: any) => r.at)).toEqual(["2025-03-05T12:00:00.000Z", "2025-03-02T00:00:00.000Z", "2025-03-01T23:59:59.000Z", "2025-03-01T08:00:00.000Z"]);
    expect(body.hasMore).toBe(false);
    expect(body.daily).toEqual([
      { day: "2025-03-01", requests: 2, promptTokens: 30, completionTokens: 15, cachedTokens: 0, cacheWriteTokens: 0, cost: 300 },
      { day: "2025-03-02", requests: 1, promptTokens: 1, completionTokens: 1, cachedTokens: 0, cacheWriteTokens: 0, cost: 7 },
      { day: "2025-03-05", requests: 1, promptTokens: 100, completionTokens: 50, cachedTokens: 0, cacheWriteTokens: 0, cost: 1000 },
    ]);
    expect(body.total).toEqual({ requests: 4, promptTokens: 131, completionTokens: 66, cachedTokens: 0, cacheWriteTokens: 0, cost: 1307 });
    const text = JSON.stringify(body);
    for (const hidden of ["secret-upstream-model", "channelId", "9999"]) expect(text).not.toContain(hidden);
    expect(new Set(body.data.map((r: any) => r.userId))).toEqual(new Set([body.data[0].userId]));
  });

  test("from is inclusive, a datetime to is exclusive, a date to runs through that day", async () => {
    const a = (await (await usage("from=2025-03-01T23:59:59Z&to=2025-03-02T00:00:00Z")).json()) as any;
    expect(a.data.map((r: any) => r.at)).toEqual(["2025-03-01T23:59:59.000Z"]);
    const b = (await (await usage("from=2025-03-02&to=2025-03-02")).json()) as any;
    expect(b.data.map((r: any) => r.at)).toEqual(["2025-03-02T00:00:00.000Z"]);
    const c = (await (await usage("from=2025-03-01T00:00:00%2B02:00&to=2025-03-01T12:00:00Z")).json()) as any;
    expect(c.data.length).toBe(1);
  });

  test("key_id filters to one of the caller's keys; limit caps rows and sets hasMore", async () => {
    const k = (await (await usage(`from=2025-01-01&key_id=${aliceKey2}`)).json()) as any;
    expect(k.keyId).toBe(aliceKey2);
    expect(k.data.length).toBe(1);
    expect(k.total.requests).toBe(1);
    const l = (await (await usage("from=2025-01-01&limit=2")).json()) as any;
    expect(l.data.length).toBe(2);
    expect(l.hasMore).toBe(true);
    expect(l.total.requests).toBe(4);
  });

  test("another user's key id is 404; bad parameters are 400", async () => {
    await expectError(await usage(`key_id=${bob.keyId}`), 404, "not_found");
    for (const q of ["from=yesterday", "to=2025-13-01", "from=2025-03-02&to=2025-03-01", "limit=0", "limit=1001", "limit=x", "key_id=abc", "keyId=1", "user_id=1"]) {
      await expectError(await usage(q), 400, "invalid_request");
    }
  });

  test("without from, the last 30 days", async () => {
    const body = (await (await usage("")).json()) as any;
    expect(Date.now() - Date.parse(body.from)).toBeGreaterThan(29 * 86_400_000);
    expect(body.to).toBeNull();
  });
});

describe("GET /v1/openapi.json", () => {
  test("is public OpenAPI 3.1 covering every public route and every error code", async () => {
    const res = await fetch(`${h.url}/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe("3.1.0");
    for (const p of ["/v1/auth/login", "/v1/me", "/v1/keys", "/v1/keys/{id}", "/v1/keys/{id}/reveal", "/v1/usage", "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings"]) {
      expect(doc.paths).toHaveProperty([p]);
    }
    expect(Object.keys(doc.paths["/v1/keys/{id}"]).sort()).toEqual(["delete", "get", "parameters", "patch"]);
    // Every route the server registers (but the pass-through wildcards) is documented with its method.
    const routes = createPublicApp(h.ctx).routes.filter((r) => !r.path.includes("*"));
    expect(routes.length).toBeGreaterThan(25);
    for (const r of routes) {
      const path = r.path.replace(/:(\w+)/g, "{$1}");
      expect({ route: `${r.method} ${path}`, documented: doc.paths[path]?.[r.method.toLowerCase()] !== undefined }).toEqual({ route: `${r.method} ${path}`, documented: true });
    }
    expect(doc.components.schemas.ErrorCode.enum.sort()).toEqual(Object.keys(errorCodes).sort());
    expect(doc.components.schemas.Error.properties.error.required).toEqual(["message", "type", "code", "param"]);
    // Every $ref points at something that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
    expect(refs.length).toBeGreaterThan(10);
    for (const [, kind, name] of refs) expect(doc.components[kind!]).toHaveProperty([name!]);
  });
});
