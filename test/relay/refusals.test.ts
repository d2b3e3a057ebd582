import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "../support/expect-error";
import { chat, eventually, post, relayWithMocks } from "../support/relay-fixture";
import { dbQuery, ledgerViolations } from "../support/limits-helpers";

/**
 * Refused calls are visible: each refusal of an identified key leaves a usage row (prefix, IP, model, code,
 * nothing charged), every refusal is counted in /metrics by code, and unknown keys are counted only.
 */
let f: Awaited<ReturnType<typeof relayWithMocks>>;
beforeAll(async () => {
  f = await relayWithMocks(1);
  await f.channel(f.mocks[0]!, { models: ["gpt-test", "other"] });
  await f.h.admin.prices.set("gpt-test", { inputPerMTok: 0, outputPerMTok: 1_000_000 });
});
afterAll(() => f.close());

async function rowsOf(keyId: number) {
  return (await f.h.admin.usage({ key: keyId, limit: 50 })).data;
}

describe("refused requests", () => {
  test("each refusal of an identified key is a usage row with its prefix, source IP, model and code, charged nothing", async () => {
    const cases: [string, Record<string, unknown>, Record<string, unknown>, unknown, number, string][] = [
      ["disabled", {}, { enabled: false }, chat("gpt-test"), 401, "key_disabled"],
      ["scope", {}, { scopes: ["usage:read"] }, chat("gpt-test"), 403, "insufficient_scope"],
      ["ips", {}, { allowIps: ["10.0.0.0/8"] }, chat("gpt-test"), 403, "ip_not_allowed"],
      ["models", {}, { models: ["other"] }, chat("gpt-test"), 403, "model_not_allowed"],
      ["broke", { credits: 0 }, {}, chat("gpt-test", { max_tokens: 100 }), 402, "quota_exceeded"],
      ["spend", { credits: 1000 }, { spendLimit: 5 }, chat("gpt-test", { max_tokens: 100 }), 402, "key_spend_limit_exceeded"],
      ["badbody", { credits: 1000 }, {}, chat("gpt-test", { n: 0 }), 400, "invalid_request"],
    ];
    for (const [name, user, keyUpdate, body, status, code] of cases) {
      const k = await f.userWithKey(`rf-${name}`, user);
      if (Object.keys(keyUpdate).length) await f.h.admin.keys.update(k.keyId, keyUpdate);
      await expectError(await post(f.h, k.key, "/v1/chat/completions", body), status, code);
      const rows = await rowsOf(k.keyId);
      expect({ name, rows: rows.length }).toEqual({ name, rows: 1 });
      expect(rows[0]).toMatchObject({ keyPrefix: k.prefix, sourceIp: "127.0.0.1", model: "gpt-test", status, errorCode: code, cost: 0, channelId: null });
      const key = await f.h.admin.keys.get(k.keyId);
      expect({ name, lastUsedAt: key.lastUsedAt }).toEqual({ name, lastUsedAt: null }); // a refusal is not a use
    }
    expect(await ledgerViolations(f.h)).toEqual([]);
    expect(await dbQuery(f.h, "SELECT count(*) AS n FROM ledger WHERE kind = 'charge'")).toEqual([{ n: 0 }]);
  });

  test("concurrency refusals are rows too", async () => {
    f.mocks[0]!.set({ behavior: "slow", delayMs: 300 });
    try {
      const k = await f.userWithKey("rf-busy", { credits: 1000, concurrency: 1 });
      const first = post(f.h, k.key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 10 }));
      await eventually(() => f.mocks[0]!.inFlight === 1, "first in flight");
      await expectError(await post(f.h, k.key, "/v1/chat/completions", chat("gpt-test", { max_tokens: 10 })), 429, "concurrency_limit_exceeded");
      expect((await first).status).toBe(200);
      const rows = await rowsOf(k.keyId);
      expect(rows.map((r) => r.errorCode).sort()).toEqual(["concurrency_limit_exceeded", null].sort());
    } finally {
      f.mocks[0]!.set({});
    }
  });

  test("unknown and wrong keys are counted in /metrics but leave no row", async () => {
    const k = await f.userWithKey("rf-real");
    const before = (await f.h.admin.usage({ limit: 10_000 })).data.length;
    const wrong = k.key.slice(0, -4) + "AAAA";
    for (const bad of ["sk-app-nope", wrong, "sk-app-00000000_" + "a".repeat(48)]) {
      await expectError(await post(f.h, bad, "/v1/chat/completions", chat("gpt-test")), 401, "invalid_api_key");
    }
    await expectError(await fetch(`${f.h.url}/v1/chat/completions`, { method: "POST", body: "{}" }), 401, "invalid_api_key");
    expect((await f.h.admin.usage({ limit: 10_000 })).data.length).toBe(before);
    const metrics = await f.h.admin.metrics();
    const n = Number(/relay_refused_total\{code="invalid_api_key"\} (\d+)/.exec(metrics)?.[1]);
    expect(n).toBeGreaterThanOrEqual(4);
    expect(metrics).toContain('relay_refused_total{code="key_disabled"}');
    expect(metrics).toContain('relay_refused_total{code="insufficient_scope"}');
  });

  test("self-service actions and logins are audited with the caller's source IP", async () => {
    await f.h.admin.users.create({ name: "rf-self" });
    await f.h.admin.users.update("rf-self", { password: "correct horse battery" });
    const login = await fetch(`${f.h.url}/v1/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "rf-self", password: "correct horse battery" }) });
    const { token } = (await login.json()) as any;
    const created = await post(f.h, token, "/v1/keys", { label: "mine" });
    const k = (await created.json()) as any;
    await post(f.h, token, `/v1/keys/${k.id}/reveal`, {});
    await fetch(`${f.h.url}/v1/keys/${k.id}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
    const audit = (await f.h.admin.audit(20)).data;
    for (const action of ["session.login", "key.create", "key.reveal", "key.delete"]) {
      const row = audit.find((r) => r.action === action && String(r.actor).includes("rf-self"));
      expect({ action, ip: row?.ip }).toEqual({ action, ip: "127.0.0.1" });
    }
    expect(audit.find((r) => r.action === "user.update" && r.target === "user:rf-self")?.ip).toBe(""); // the admin socket has no IP
  });
});
